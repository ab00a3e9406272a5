// The callseal encoded-transform worker: encrypts outgoing and decrypts
// incoming WebRTC encoded frames in media mode, off the main thread.
//
// Start it with the `E2eeWorker` class of webrtc.js (which speaks its
// protocol); it serves both `RTCRtpScriptTransform` (the `rtctransform`
// event) and the older `createEncodedStreams()` (streams posted to it).
//
// Keys come from the main thread, or from a 1:1 call handshake the worker
// runs itself (so call keys never leave the WebAssembly instance). A new key
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
    sender = replace(sender, media.sender);
    receiver = replace(receiver, media.receiver);
  }
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
  startCall({ uid, suite, identitySecret }) {
    ensureIdentity(identitySecret);
    const start = CallSession.initiate(identity, uid, suite);
    session = replace(session, start.session);
    mediaTaken = false;
    return { message: start.message, status: status() };
  },
  answerCall({ uid, commit, identitySecret }) {
    ensureIdentity(identitySecret);
    const start = CallSession.respond(identity, uid, commit);
    session = replace(session, start.session);
    mediaTaken = false;
    return { message: start.message, status: status() };
  },
  handleSignal({ message }) {
    if (!session) throw Object.assign(new Error('no call in progress'), { code: 'protocol-violation' });
    const reply = session.handle(message, store);
    takeCallMedia();
    return { message: reply, status: status() };
  },
  markVerified() {
    if (!session) throw Object.assign(new Error('no call in progress'), { code: 'protocol-violation' });
    session.markVerified(store);
    return { status: status() };
  },
  callStatus() {
    return { status: status() };
  },
  rekey() {
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
