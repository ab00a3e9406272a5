// The callseal encoded-transform worker: encrypts outgoing and decrypts
// incoming WebRTC encoded frames in media mode, off the main thread.
//
// Start it with the `E2eeWorker` class of webrtc.js (which speaks its
// protocol); it serves both `RTCRtpScriptTransform` (the `rtctransform`
// event) and the older `createEncodedStreams()` (streams posted to it).
//
// Keys come from the main thread, or from a 1:1 call the worker runs itself:
// the CallSession, its MediaSender and MediaReceiver and every MediaUpdate of
// an in-call rekey live here, so call keys never leave this WebAssembly
// instance (the main thread only relays the signalling messages). A new key
// is installed between two frames (the worker handles one message or one
// frame at a time), so no frame is dropped for it; receivers keep older keys
// for frames still in flight. A frame is never sent in clear: without a key
// it is dropped and counted.
import init, {
  CallSession,
  IdentityKeyPair,
  IdentityStore,
  MediaReceiver,
  MediaSender,
} from './index.js';

const ready = init();

let sender = null;
let receiver = null;
let session = null;
let identity = null;
let store = null;
let mediaTaken = false;
// The call's own sender and receiver (from takeMedia), which its rekeys
// update; null once setSenderKey replaced the sender.
let callSender = null;
let callReceiver = null;

const stats = {
  encrypted: 0,
  decrypted: 0,
  encryptFailures: 0,
  decryptFailures: 0,
  droppedWithoutKey: 0,
  failuresByCode: {},
  encryptedByCodec: {},
  decryptedByCodec: {},
  decryptedByKind: { audio: 0, video: 0 },
  decryptFailuresByKind: { audio: 0, video: 0 },
  ignoredSignals: {},
  rekeys: 0,
};

function countFailure(err) {
  const code = (err && err.code) || 'internal';
  stats.failuresByCode[code] = (stats.failuresByCode[code] || 0) + 1;
}

function bump(map, key) {
  map[key] = (map[key] || 0) + 1;
}

// The codecs media mode has rules for; other payloads go as `generic`.
const KNOWN_CODEC = /^(audio\/opus|video\/(vp8|vp9|h264|h265|hevc|av1))$/i;

// The codec of an encoded frame: its metadata's MIME type, else the MIME
// type the page gave for its payload type, else generic.
function codecOf(frame, payloadTypes) {
  const meta = frame.getMetadata ? frame.getMetadata() : {};
  let mime = meta.mimeType;
  if (!mime && meta.payloadType !== undefined && payloadTypes) {
    mime = payloadTypes[meta.payloadType];
  }
  return mime && KNOWN_CODEC.test(mime) ? mime : 'generic';
}

function kindOf(frame) {
  // Audio frames have no `type` (key/delta); video frames do.
  return frame.type === undefined ? 'audio' : 'video';
}

function encryptTransform(options) {
  return (frame, controller) => {
    if (!sender) {
      stats.droppedWithoutKey += 1;
      return;
    }
    try {
      const codec = codecOf(frame, options.payloadTypes);
      const out = sender.encryptFrame(codec, new Uint8Array(frame.data));
      frame.data = out.buffer;
      stats.encrypted += 1;
      bump(stats.encryptedByCodec, codec);
      controller.enqueue(frame);
    } catch (err) {
      stats.encryptFailures += 1;
      countFailure(err);
    }
  };
}

function decryptTransform() {
  return (frame, controller) => {
    if (!receiver) {
      stats.droppedWithoutKey += 1;
      return;
    }
    try {
      const { codec, payload } = receiver.decryptFrame(new Uint8Array(frame.data));
      frame.data = payload.buffer;
      stats.decrypted += 1;
      bump(stats.decryptedByCodec, codec);
      stats.decryptedByKind[kindOf(frame)] += 1;
      controller.enqueue(frame);
    } catch (err) {
      stats.decryptFailures += 1;
      stats.decryptFailuresByKind[kindOf(frame)] += 1;
      countFailure(err);
    }
  };
}

async function pipe(readable, writable, options) {
  await ready;
  const transform =
    options.side === 'send' ? encryptTransform(options) : decryptTransform(options);
  await readable.pipeThrough(new TransformStream({ transform })).pipeTo(writable);
}

// RTCRtpScriptTransform: the transformer carries the streams and options.
self.onrtctransform = (event) => {
  const { readable, writable, options } = event.transformer;
  pipe(readable, writable, options || {}).catch(() => {});
};

function status() {
  if (!session) return null;
  return {
    state: session.state,
    indicator: session.indicator,
    securityCode: session.securityCode,
    peerStatus: session.peerStatus,
    peerUid: session.peerUid,
    epoch: session.epoch,
    rekeyPending: session.rekeyPending,
  };
}

function replace(old, next) {
  if (old && old !== next) old.free();
  return next;
}

function ensureIdentity(secret) {
  if (!identity || secret) {
    identity = replace(identity, secret ? IdentityKeyPair.fromBytes(secret) : IdentityKeyPair.generate());
  }
  if (!store) store = IdentityStore.memory();
}

// Once the handshake is done, its media keys replace any others.
function takeCallMedia() {
  if (session && !mediaTaken && (session.state === 'encrypted' || session.state === 'verified')) {
    const media = session.takeMedia();
    mediaTaken = true;
    sender = callSender = replace(sender, media.sender);
    receiver = callReceiver = replace(receiver, media.receiver);
  }
}

// A rekey step's new keys, into the call's receiver, then its sender (the
// order MediaUpdate.apply uses); the update's keys are wiped on free.
function applyUpdate(update) {
  try {
    if (callReceiver && receiver === callReceiver) update.applyToReceiver(receiver);
    if (callSender && sender === callSender) update.applyToSender(sender);
    stats.rekeys += 1;
  } finally {
    update.free();
  }
}

function newCall(start) {
  session = replace(session, start.session);
  mediaTaken = false;
  return { message: start.message, status: status() };
}

function noCall() {
  return Object.assign(new Error('no call in progress'), { code: 'protocol-violation' });
}

const ops = {
  ping() {
    return { ok: true };
  },
  stream({ readable, writable, options }) {
    pipe(readable, writable, options || {}).catch(() => {});
    return { ok: true };
  },
  setSenderKey({ suite, kid, baseKey }) {
    sender = replace(sender, new MediaSender(suite, kid, baseKey));
    callSender = null;
    return { ok: true };
  },
  addReceiverKey({ kid, suite, baseKey }) {
    if (!receiver) receiver = new MediaReceiver();
    receiver.addKey(kid, suite, baseKey);
    return { ok: true };
  },
  removeReceiverKey({ kid }) {
    return { removed: receiver ? receiver.removeKey(kid) : false };
  },
  startCall({ uid, peerUid, suite, allowShortTags, rekeyEveryMs, peerIdentity, identitySecret }) {
    ensureIdentity(identitySecret);
    const options = { suite, allowShortTags, rekeyEveryMs, peerIdentity };
    return newCall(CallSession.initiate(identity, uid, peerUid, options));
  },
  answerCall({ uid, commit, expectedPeerUid, expectedPeerIdentity, allowShortTags, rekeyEveryMs, identitySecret }) {
    ensureIdentity(identitySecret);
    const options = { allowShortTags, rekeyEveryMs, expectedPeerUid, expectedPeerIdentity };
    return newCall(CallSession.respond(identity, uid, commit, options));
  },
  handleSignal({ message }) {
    if (!session) throw noCall();
    const { reply, media, ignored } = session.handle(message, store);
    takeCallMedia();
    if (media) applyUpdate(media);
    if (ignored) bump(stats.ignoredSignals, ignored);
    return { message: reply, status: status(), ignored };
  },
  rekeyCall() {
    if (!session) throw noCall();
    return { message: session.rekey(), status: status() };
  },
  rekeyDue() {
    // The worker's own monotonic clock: the session only compares times it saw.
    return { due: session ? session.rekeyDue(performance.now()) : false };
  },
  markVerified() {
    if (!session) throw noCall();
    session.markVerified(store);
    return { status: status() };
  },
  callStatus() {
    return { status: status() };
  },
  ratchet() {
    if (!sender) throw Object.assign(new Error('no sender key'), { code: 'protocol-violation' });
    sender.ratchet();
    return { kid: sender.kid };
  },
  stats() {
    return { stats: structuredClone(stats) };
  },
};

self.onmessage = async (event) => {
  const { id, op, ...args } = event.data || {};
  if (!(op in ops)) return;
  try {
    await ready;
    const result = ops[op](args);
    self.postMessage({ id, result });
  } catch (err) {
    self.postMessage({
      id,
      error: { code: (err && err.code) || 'internal', message: String((err && err.message) || err) },
    });
  }
};
