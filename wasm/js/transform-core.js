// The logic of the callseal transform worker, apart from the worker's global
// scope so that it runs (and is tested) anywhere: transform-worker.js wires
// it to `self`; the Node tests drive it with the Node entry's classes.
//
// createTransformCore(api) takes the package's classes (MediaSender,
// MediaReceiver, CallSession, IdentityKeyPair, IdentityStore) and returns:
//
//   handle(data)           one request `{ id, op, ...args }` → the reply
//                          `{ id, result }` or `{ id, error: { code, message } }`
//   transform(options)     the per-frame function of one sender (options.side
//                          'send') or receiver ('receive'), for a TransformStream
//   streamFailed(options, err)  reports a transform's stream that ended in error
//   stats                  the counters
//
// Events go out through `emit(type, detail)` (the worker posts them to the
// page, where E2eeWorker dispatches them): `state`, `code`, `peer-changed`,
// `store` (the identity store's JSON after a change, to persist),
// `decrypt-failed`, `missing-key` and `stream-error` (wasm/README.md,
// "Events"). Failure events are coalesced: at most one per code (per key id
// for `missing-key`) every FAILURE_EVENT_MS, with the count since the last.
//
// Rules it enforces (docs in wasm/README.md, "Keys and frames"):
// - a key id goes into one sender only: a KID this worker has sent under is
//   refused unless `startingAt` resumes it at or after the next unused
//   counter, so no (key, nonce) pair is ever used twice here;
// - a receiver decrypts only frames of its own media kind and, when it was
//   given `kids`, of those key ids; other frames are dropped and counted;
// - only the worker's own operations are dispatched (no inherited names);
// - key bytes the page posts are wiped once the core has copied them.
//
// Frames from WEBCRYPTO_MIN_BYTES up are encrypted and decrypted with
// WebCrypto (media-crypto.js: one awaited call per frame, the same bytes);
// a transform then returns a promise, and the stream waits for it.
import { createMediaCrypto } from './media-crypto.js';

/** The shortest time between two failure events of one code (ms). */
export const FAILURE_EVENT_MS = 1000;

/**
 * The media kind a codec carries: 'audio', 'video', or null (generic). Takes
 * a MIME type (`video/VP8`) or the name `decryptFrame` reports (`VP8`, `Opus`).
 */
export function codecKind(codec) {
  const name = String(codec).toLowerCase();
  if (name.startsWith('audio/') || name === 'opus') return 'audio';
  if (name.startsWith('video/') || ['vp8', 'vp9', 'h.264', 'h.265', 'av1'].includes(name)) return 'video';
  return null;
}

// The codecs media mode has rules for; other payloads go as `generic`.
const KNOWN_CODEC = /^(audio\/opus|video\/(vp8|vp9|h264|h265|hevc|av1))$/i;

// The codec of an encoded frame: its metadata's MIME type, else the MIME
// type the page gave for its payload type, else the page's `codec` for the
// transceiver, else generic.
function codecOf(frame, payloadTypes, fallback) {
  const meta = frame.getMetadata ? frame.getMetadata() : {};
  let mime = meta.mimeType;
  if (!mime && meta.payloadType !== undefined && payloadTypes) {
    mime = payloadTypes[meta.payloadType];
  }
  // The transceiver's own codec, for browsers that give neither (Safari's
  // video frames carry no payload type).
  if (!mime) mime = fallback;
  return mime && KNOWN_CODEC.test(mime) ? mime : 'generic';
}

/** The kind of an encoded frame: audio frames have no `type` (key/delta). */
export function frameKind(frame) {
  return frame.type === undefined ? 'audio' : 'video';
}

function failure(code, message) {
  return Object.assign(new Error(message), { code });
}

// Key ids as bigints: Map and Set compare them by value.
const kidKey = (kid) => BigInt(kid);

// What a protected frame says of itself in clear, before any key is used
// (PROTOCOL.md §2.1, §2.2): its media kind from the footer's codec id (the
// frame's last byte, never escaped) and its key id from the SFrame header
// just before the footer. The key id is left null where escaping may have
// moved the header (H.264, H.265) or the header does not parse: the check
// after decryption still applies. A forged footer or header only gets its
// own frame dropped: any change fails authentication anyway.
export function peekFrame(bytes) {
  const n = bytes.length;
  if (n < 2) return { kind: null, kid: null };
  const footer = bytes[n - 1];
  const id = footer >> 5;
  const nh = footer & 0x1f;
  const kind = id === 1 ? 'audio' : id >= 2 && id <= 6 ? 'video' : null;
  let kid = null;
  if (id !== 4 && id !== 5 && nh >= 1 && nh <= 17 && n > nh) {
    const at = n - 1 - nh;
    const config = bytes[at];
    if (config & 0x80) {
      const len = ((config >> 4) & 7) + 1;
      if (1 + len <= nh) {
        kid = 0n;
        for (let i = 0; i < len; i += 1) kid = (kid << 8n) | BigInt(bytes[at + 1 + i]);
      }
    } else {
      kid = BigInt((config >> 4) & 7);
    }
  }
  return { kind, kid };
}

// The key id an `unknown-key-id` error names (its message is the core's
// "no key for key id N"), or null.
function missingKid(err) {
  const m = /key id (\d+)/.exec(String((err && err.message) || ''));
  return m ? BigInt(m[1]) : null;
}

/** Fills a posted key buffer with zeros (the core keeps its own copy). */
function wipe(bytes) {
  if (bytes instanceof Uint8Array) bytes.fill(0);
}

export function createTransformCore(api, { now = () => performance.now(), crypto: cryptoOptions, emit = () => {} } = {}) {
  const { CallSession, IdentityKeyPair, IdentityStore, MediaReceiver, MediaSender, VerifiedPolicy } = api;
  const media = createMediaCrypto(cryptoOptions);

  let sender = null;
  let receiver = null;
  // Frame crypto that replaces the sender and receiver while set (a
  // meeting's: meeting-core.js): `{ encrypt(codec, bytes) → Uint8Array,
  // decrypt(bytes) → { codec, kid, payload, sender? } | null }`, each
  // throwing a coded error; null: the frame is held (a meeting's frame of
  // an epoch this member has not reached yet), neither decrypted nor failed.
  let frames = null;
  let session = null;
  let identity = null;
  let store = null;
  // What the page last heard: the call's status and the store's JSON text.
  let lastStatus = null;
  let lastStoreJson = null;
  // Transforms the page detached (by token): their frames are dropped.
  const detached = new Set();
  // Running transforms with a token: token → 'send' | 'receive'.
  const sides = new Map();
  // Failure events waiting out FAILURE_EVENT_MS: key → { at, count }.
  const failureEvents = new Map();
  let mediaTaken = false;
  // The call's own sender and receiver (from takeMedia), which its rekeys
  // update; null once setSenderKey replaced the sender.
  let callSender = null;
  let callReceiver = null;
  // KID → the first counter no sender of this worker has used under it.
  const used = new Map();

  const stats = {
    encrypted: 0,
    decrypted: 0,
    encryptFailures: 0,
    decryptFailures: 0,
    droppedWithoutKey: 0,
    misrouted: 0,
    misroutedByKind: { audio: 0, video: 0 },
    failuresByCode: {},
    encryptedByCodec: {},
    decryptedByCodec: {},
    decryptedByKind: { audio: 0, video: 0 },
    decryptFailuresByKind: { audio: 0, video: 0 },
    // Frames under a counter this receiver already accepted: WebRTC's
    // retransmissions (and any repeat), dropped quietly, not failures.
    duplicates: 0,
    duplicatesByKind: { audio: 0, video: 0 },
    // Frames the frame provider held (a meeting's frames of an epoch not
    // reached yet): dropped by transforms, not failures.
    held: 0,
    streamErrors: 0,
    ignoredSignals: {},
    rejectedOps: 0,
    rekeys: 0,
    // Frames whose AES-GCM ran in WebCrypto (the others: in WebAssembly).
    webCrypto: { encrypted: 0, decrypted: 0 },
    // Transforms running: senders and receivers attached to this worker.
    transforms: { send: 0, receive: 0 },
  };

  const bump = (map, key) => {
    map[key] = (map[key] || 0) + 1;
  };

  function countFailure(err) {
    bump(stats.failuresByCode, (err && err.code) || 'internal');
  }

  // Emits `type` for this failure unless one of the same key went out
  // within FAILURE_EVENT_MS; the next one carries the count in between.
  function failureEvent(type, key, detail) {
    const t = now();
    const seen = failureEvents.get(key);
    if (seen && t - seen.at < FAILURE_EVENT_MS) {
      seen.count += 1;
      return;
    }
    failureEvents.set(key, { at: t, count: 0 });
    emit(type, { ...detail, count: (seen ? seen.count : 0) + 1 });
  }

  function decryptFailed(err, kind) {
    const code = (err && err.code) || 'internal';
    if (code === 'replay') {
      stats.duplicates += 1;
      stats.duplicatesByKind[kind] += 1;
      return;
    }
    stats.decryptFailures += 1;
    stats.decryptFailuresByKind[kind] += 1;
    countFailure(err);
    failureEvent('decrypt-failed', `decrypt-failed ${code} ${kind}`, {
      code,
      kind,
      message: String((err && err.message) || err),
    });
    if (code === 'unknown-key-id') {
      const kid = missingKid(err);
      // Coalesced per media kind, not per key id: the key id comes from the
      // frame, and an injected frame per key id would otherwise be an event
      // (and a remembered key) each. The event names the first one.
      failureEvent('missing-key', `missing-key ${kind}`, { kid, kind });
    }
  }

  function replace(old, next) {
    if (old && old !== next) old.free();
    return next;
  }

  // Records the counters the current sender has used, under its KID: called
  // before anything changes the sender or its key id (a new key, the call's
  // keys, a ratchet step, a rekey), and for the state the page asks for.
  function noteSenderUse() {
    if (!sender) return;
    const next = sender.nextCounter;
    // An exhausted sender used every counter: nothing may resume its KID.
    used.set(kidKey(sender.kid), next === undefined ? null : next);
  }

  function encryptFrame(options) {
    return (frame, controller) => {
      if (detached.has(options.token)) return controller.terminate();
      if (!sender && !frames) {
        stats.droppedWithoutKey += 1;
        return;
      }
      const codec = codecOf(frame, options.payloadTypes, options.codec);
      const failed = (err) => {
        stats.encryptFailures += 1;
        countFailure(err);
      };
      const done = (out) => {
        frame.data = out.buffer;
        stats.encrypted += 1;
        bump(stats.encryptedByCodec, codec);
        controller.enqueue(frame);
      };
      let out;
      try {
        const bytes = new Uint8Array(frame.data);
        out = frames ? frames.encrypt(codec, bytes) : media.encrypt(sender, codec, bytes);
      } catch (err) {
        failed(err);
        return undefined;
      }
      if (out instanceof Uint8Array) return done(out);
      return out.then((sealed) => {
        stats.webCrypto.encrypted += 1;
        done(sealed);
      }, failed);
    };
  }

  function decryptFrame(options) {
    const kids = Array.isArray(options.kids) ? new Set(options.kids.map(kidKey)) : null;
    return (frame, controller) => {
      if (detached.has(options.token)) return controller.terminate();
      const kind = options.kind || frameKind(frame);
      if (!receiver && !frames) {
        stats.droppedWithoutKey += 1;
        return;
      }
      const failed = (err) => decryptFailed(err, kind);
      const misrouted = () => {
        stats.misrouted += 1;
        stats.misroutedByKind[kind] += 1;
      };
      const bytes = new Uint8Array(frame.data);
      // Another track's frame, told by its clear footer and header: dropped
      // before decryption, so it cannot use up the counter its genuine
      // delivery on its own track needs.
      if (foreign(bytes, kind, kids)) return misrouted();
      const done = ({ codec, kid, payload }) => {
        const codecIsKind = codecKind(codec);
        // A frame of another track (another key id, or another kind of
        // media) moved here by the network: authentic, but not this track's.
        if ((kids && !kids.has(kidKey(kid))) || (codecIsKind && codecIsKind !== kind)) return misrouted();
        frame.data = payload.buffer;
        stats.decrypted += 1;
        bump(stats.decryptedByCodec, codec);
        stats.decryptedByKind[kind] += 1;
        controller.enqueue(frame);
      };
      let opened;
      try {
        opened = frames ? frames.decrypt(bytes) : media.decrypt(receiver, bytes);
      } catch (err) {
        failed(err);
        return undefined;
      }
      if (opened === null) {
        stats.held += 1;
        return undefined;
      }
      if (typeof opened.then !== 'function') return done(opened);
      return opened.then((frameInfo) => {
        stats.webCrypto.decrypted += 1;
        done(frameInfo);
      }, failed);
    };
  }

  // Whether a frame's clear footer and header (peekFrame) show it belongs to
  // another track: another media kind, or (with `kids`, outside a meeting,
  // whose frames' key ids change every epoch) another key id.
  function foreign(bytes, kind, kids) {
    const seen = peekFrame(bytes);
    if (kind && seen.kind && seen.kind !== kind) return true;
    return Boolean(kids && !frames && seen.kid !== null && !kids.has(seen.kid));
  }

  function transform(options = {}) {
    const send = options.side === 'send';
    stats.transforms[send ? 'send' : 'receive'] += 1;
    if (options.token !== undefined) sides.set(options.token, send ? 'send' : 'receive');
    return send ? encryptFrame(options) : decryptFrame(options);
  }

  // A transform's stream ended in error (not by `unprotect`): counted, and
  // told to the page, which may protect the sender or receiver again.
  function streamFailed(options = {}, err) {
    if (detached.has(options.token)) return;
    sides.delete(options.token);
    stats.streamErrors += 1;
    stats.transforms[options.side === 'send' ? 'send' : 'receive'] -= 1;
    emit('stream-error', {
      side: options.side === 'send' ? 'send' : 'receive',
      token: options.token ?? null,
      message: String((err && err.message) || err),
    });
  }

  // Tells the page what changed in the call and the store since it last
  // heard: `state` for a new state, indicator, peer status or epoch; `code`
  // for a new security code; `peer-changed` when the peer's identity key is
  // not the one remembered; `store` for the store's new JSON.
  function report() {
    const current = status();
    const before = lastStatus;
    lastStatus = current;
    if (current) {
      const changed = (k) => !before || before[k] !== current[k];
      if (['state', 'indicator', 'peerStatus', 'epoch', 'rekeyPending'].some(changed)) emit('state', current);
      if (current.securityCode && changed('securityCode')) emit('code', { securityCode: current.securityCode, peerUid: current.peerUid });
      if (current.peerStatus === 'changed' && changed('peerStatus')) emit('peer-changed', { peerUid: current.peerUid, status: current });
    }
    if (store) {
      const json = JSON.stringify(store);
      if (json !== lastStoreJson) {
        const before = lastStoreJson === null ? null : JSON.parse(lastStoreJson);
        lastStoreJson = json;
        if (before) {
          // The whole store, and the peers this change touched: a keyring
          // other workers also save to applies only those (useKeyring).
          // (Object.fromEntries defines own members: a peer named
          // `__proto__` stays a peer.)
          const now = JSON.parse(json);
          const changed = Object.fromEntries(
            Object.entries(now).filter(([peer, entry]) => {
              const old = Object.hasOwn(before, peer) ? before[peer] : null;
              return !old || old.key !== entry.key || old.verified !== entry.verified;
            }),
          );
          emit('store', { store: now, changed });
        }
      }
    }
  }

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

  function ensureIdentity(secret) {
    try {
      if (!identity || secret) {
        identity = replace(identity, secret ? IdentityKeyPair.fromBytes(secret) : IdentityKeyPair.generate());
      }
    } finally {
      wipe(secret);
    }
    if (!store) useStore(IdentityStore.memory());
  }

  function useStore(next) {
    store = replace(store, next);
    lastStoreJson = JSON.stringify(store);
  }

  // Once the handshake is done, its media keys replace any others.
  function takeCallMedia() {
    if (session && !mediaTaken && (session.state === 'encrypted' || session.state === 'verified')) {
      const media = session.takeMedia();
      mediaTaken = true;
      noteSenderUse();
      sender = callSender = replace(sender, media.sender);
      receiver = callReceiver = replace(receiver, media.receiver);
    }
  }

  // A rekey step's new keys, into the call's receiver, then its sender (the
  // order MediaUpdate.apply uses); the update's keys are wiped on free.
  function applyUpdate(update) {
    try {
      if (callReceiver && receiver === callReceiver) update.applyToReceiver(receiver);
      if (callSender && sender === callSender) {
        noteSenderUse();
        update.applyToSender(sender);
      }
      stats.rekeys += 1;
    } finally {
      update.free();
    }
  }

  // Ends the current call, if any: its session goes, and so do its media
  // keys (page-given keys stay). A new call's frames must never go out
  // under the previous call's key, nor its receiver accept the previous
  // peer's frames, while the new handshake runs (or if it never ends).
  function endCall() {
    if (callSender && sender === callSender) {
      noteSenderUse();
      sender.free();
      sender = null;
    }
    if (callReceiver && receiver === callReceiver) {
      receiver.free();
      receiver = null;
    }
    callSender = null;
    callReceiver = null;
    if (session) session.free();
    session = null;
    mediaTaken = false;
    lastStatus = null;
  }

  function newCall(start) {
    endCall();
    session = start.session;
    mediaTaken = false;
    lastStatus = null;
    report();
    return { message: start.message, status: status() };
  }

  // Runs `use` with the signed policy `{ signed, tenantKey, lastSeenSerial }`
  // verified (nothing of a refused one is used); the reply carries the
  // verified serial for the page to keep.
  function underPolicy({ signed, tenantKey, lastSeenSerial = 0 }, use) {
    if (!VerifiedPolicy) throw failure('invalid-argument', 'this build has no policy support');
    const verified = VerifiedPolicy.verify(signed, tenantKey, lastSeenSerial);
    try {
      return { ...use(verified), policySerial: verified.serial };
    } finally {
      verified.free();
    }
  }

  function noCall() {
    return failure('protocol-violation', 'no call in progress');
  }

  // The sender of a page-given key: a new KID, or a used one resumed at or
  // after its first unused counter.
  function pageSender({ suite, kid, baseKey, startingAt }) {
    const key = kidKey(kid);
    if (used.has(key)) {
      const next = used.get(key);
      if (startingAt === undefined || startingAt === null) {
        throw failure(
          'invalid-argument',
          `key id ${key} was already used by a sender of this worker: reusing it from counter 0 would ` +
            `reuse AES-GCM nonces; pass startingAt (senderState().nextCounter) or use a new key id`,
        );
      }
      if (next === null || BigInt(startingAt) < next) {
        throw failure(
          'invalid-argument',
          `key id ${key} cannot resume at counter ${startingAt}: counters below ${next === null ? 'its end' : next} are used`,
        );
      }
    }
    if (startingAt === undefined || startingAt === null) return new MediaSender(suite, kid, baseKey);
    return MediaSender.startingAt(suite, kid, baseKey, startingAt);
  }

  // Null-prototype: only these names dispatch (not `constructor`, `__proto__`…).
  const ops = Object.assign(Object.create(null), {
    ping() {
      return { ok: true };
    },
    useIdentity({ identitySecret, store: saved }) {
      // Both checked before either is used: a bad store keeps the old pair.
      let next = null;
      try {
        next = saved === undefined || saved === null ? IdentityStore.memory() : IdentityStore.fromJSON(saved);
        if (!(identitySecret instanceof Uint8Array)) {
          throw failure('invalid-argument', 'identitySecret must be the 32 bytes of IdentityKeyPair.toBytes()');
        }
        identity = replace(identity, IdentityKeyPair.fromBytes(identitySecret));
      } catch (err) {
        if (next) next.free();
        throw err;
      } finally {
        wipe(identitySecret);
      }
      useStore(next);
      return { publicKey: identity.publicKey() };
    },
    exportStore() {
      return { store: store ? store.toJSON() : {} };
    },
    unprotect({ token }) {
      if (token === undefined || token === null) throw failure('invalid-argument', 'unprotect needs the transform token');
      detached.add(token);
      // No longer counted as running (its stream ends with its next frame).
      const side = sides.get(token);
      if (side) stats.transforms[side] -= 1;
      sides.delete(token);
      return { ok: true };
    },
    setSenderKey(args) {
      let next;
      try {
        noteSenderUse();
        next = pageSender(args);
      } finally {
        wipe(args.baseKey);
      }
      sender = replace(sender, next);
      callSender = null;
      noteSenderUse();
      return { ok: true };
    },
    senderState() {
      if (!sender) return { kid: null, nextCounter: null };
      noteSenderUse();
      const next = sender.nextCounter;
      return { kid: sender.kid, nextCounter: next === undefined ? null : next };
    },
    addReceiverKey({ kid, suite, baseKey }) {
      try {
        if (!receiver) receiver = new MediaReceiver();
        receiver.addKey(kid, suite, baseKey);
      } finally {
        wipe(baseKey);
      }
      return { ok: true };
    },
    removeReceiverKey({ kid }) {
      return { removed: receiver ? receiver.removeKey(kid) : false };
    },
    startCall({ uid, peerUid, suite, allowShortTags, rekeyEveryMs, peerIdentity, identitySecret, policy, requireE2ee }) {
      ensureIdentity(identitySecret);
      const options = { suite, allowShortTags, rekeyEveryMs, peerIdentity };
      if (!policy) return newCall(CallSession.initiate(identity, uid, peerUid, options));
      return underPolicy(policy, (verified) => {
        const mode = api.callMode(verified.evaluateCall(uid, peerUid), requireE2ee === true);
        // Not end-to-end encrypted: no call here (the previous one ends),
        // the reason for the page.
        if (!mode.e2ee) {
          endCall();
          return { message: null, status: null, notEndToEndEncrypted: mode.reason };
        }
        return newCall(api.initiateCallWithPolicy(verified, peerUid, identity, uid, options));
      });
    },
    // The verified policy's decision about a call, without starting one: a
    // callee told that a call is plain checks it against its own copy.
    decideCall({ uid, peerUid, policy }) {
      if (!policy) throw failure('invalid-argument', 'decideCall needs a policy');
      return underPolicy(policy, (verified) => {
        const mode = api.callMode(verified.evaluateCall(uid, peerUid), false);
        return { e2ee: mode.e2ee, reason: mode.e2ee ? null : mode.reason };
      });
    },
    answerCall({ uid, commit, expectedPeerUid, expectedPeerIdentity, allowShortTags, rekeyEveryMs, identitySecret, policy }) {
      ensureIdentity(identitySecret);
      const options = { allowShortTags, rekeyEveryMs, expectedPeerIdentity };
      if (!policy) return newCall(CallSession.respond(identity, uid, commit, { ...options, expectedPeerUid }));
      if (typeof expectedPeerUid !== 'string') {
        throw failure('invalid-argument', 'answering under a policy needs expectedPeerUid: the decision is about the caller');
      }
      return underPolicy(policy, (verified) =>
        newCall(api.respondToCallWithPolicy(verified, expectedPeerUid, identity, uid, commit, options)));
    },
    handleSignal({ message }) {
      if (!session) throw noCall();
      let handled;
      try {
        handled = session.handle(message, store);
      } finally {
        report();
      }
      const { reply, media, ignored } = handled;
      takeCallMedia();
      if (media) applyUpdate(media);
      if (ignored) bump(stats.ignoredSignals, ignored);
      report();
      return { message: reply, status: status(), ignored };
    },
    rekeyCall() {
      if (!session) throw noCall();
      const message = session.rekey();
      report();
      return { message, status: status() };
    },
    rekeyDue() {
      // The worker's own monotonic clock: the session only compares times it saw.
      return { due: session ? session.rekeyDue(now()) : false };
    },
    markVerified() {
      if (!session) throw noCall();
      session.markVerified(store);
      report();
      return { status: status() };
    },
    callStatus() {
      return { status: status() };
    },
    // Frames the app moves itself (WebCodecs over a WebSocket or WebTransport,
    // say): the same sender and receiver as the transforms, so the same
    // counters and replay window.
    async seal({ codec, payload }) {
      if (!sender && !frames) throw failure('protocol-violation', 'no sender key');
      if (!(payload instanceof Uint8Array)) throw failure('invalid-argument', 'payload must be a Uint8Array');
      const mime = typeof codec === 'string' && KNOWN_CODEC.test(codec) ? codec : 'generic';
      const frame = frames ? frames.encrypt(mime, payload) : await media.encrypt(sender, mime, payload);
      stats.encrypted += 1;
      bump(stats.encryptedByCodec, mime);
      return { frame };
    },
    async open({ frame, kind, kids }) {
      if (!receiver && !frames) throw failure('unknown-key-id', 'no receive key');
      if (!(frame instanceof Uint8Array)) throw failure('invalid-argument', 'frame must be a Uint8Array');
      if (foreign(frame, kind, Array.isArray(kids) ? new Set(kids.map(kidKey)) : null)) {
        stats.misrouted += 1;
        throw failure('protocol-violation', 'the frame belongs to another track');
      }
      let opened;
      try {
        opened = frames ? frames.decrypt(frame) : await media.decrypt(receiver, frame);
      } catch (err) {
        decryptFailed(err, kind === 'audio' ? 'audio' : 'video');
        throw err;
      }
      if (opened === null) {
        // Held for an epoch not reached yet (a meeting's frame): not a failure.
        stats.held += 1;
        return { held: true, codec: null, kid: null, counter: null, payload: null };
      }
      const codecIsKind = codecKind(opened.codec);
      if ((Array.isArray(kids) && !kids.map(kidKey).includes(kidKey(opened.kid))) || (kind && codecIsKind && codecIsKind !== kind)) {
        stats.misrouted += 1;
        throw failure('protocol-violation', 'the frame belongs to another track');
      }
      const k = codecIsKind || (kind === 'audio' ? 'audio' : 'video');
      stats.decrypted += 1;
      bump(stats.decryptedByCodec, opened.codec);
      stats.decryptedByKind[k] += 1;
      const reply = { codec: opened.codec, kid: opened.kid, counter: opened.counter, payload: opened.payload };
      // A meeting's frames name their sender (its leaf index), authenticated.
      if (opened.sender !== undefined) reply.sender = opened.sender;
      return reply;
    },
    ratchet() {
      if (!sender) throw failure('protocol-violation', 'no sender key');
      noteSenderUse();
      sender.ratchet();
      noteSenderUse();
      return { kid: sender.kid };
    },
    stats() {
      return { stats: structuredClone(stats) };
    },
  });

  /**
   * One request → its reply. `extra` holds operations the host adds (the
   * worker's `stream`); they dispatch the same way.
   */
  async function handle(data, extra = null) {
    const { id, op, ...args } = data && typeof data === 'object' ? data : {};
    const fn =
      typeof op === 'string' && Object.hasOwn(ops, op)
        ? ops[op]
        : typeof op === 'string' && extra && Object.hasOwn(extra, op)
          ? extra[op]
          : null;
    if (!fn) {
      stats.rejectedOps += 1;
      return { id, error: { code: 'invalid-argument', message: `unknown operation ${JSON.stringify(String(op))}` } };
    }
    try {
      return { id, result: await fn(args) };
    } catch (err) {
      return {
        id,
        error: { code: (err && err.code) || 'internal', message: String((err && err.message) || err) },
      };
    }
  }

  /**
   * Hands frame crypto to `provider` (`{ encrypt(codec, bytes), decrypt(bytes) }`,
   * see `frames` above) until called again with null: a meeting's keys
   * protect every transform of this worker while it runs.
   */
  function useFrames(provider) {
    frames = provider;
  }

  return { handle, transform, streamFailed, useFrames, emit, stats, failure };
}
