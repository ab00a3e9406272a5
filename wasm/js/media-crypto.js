// Per-frame media encryption for the transform worker: the core's own
// AES-GCM in WebAssembly (synchronous) for small frames, WebCrypto for the
// others, whichever is faster at that size (`scripts/bench-wasm` measures
// both and the crossover; WEBCRYPTO_MIN_BYTES is what it found).
//
// On the WebCrypto path a frame costs one awaited `crypto.subtle` call:
// the core plans it synchronously from the frame's first and last bytes
// (layout, counter, nonce, AAD, replay check), WebCrypto encrypts or
// decrypts the frame's own bytes, and the core commits the replay window
// synchronously (refusing a frame whose key was replaced meanwhile). The
// bytes are those of the synchronous path; frames of codecs that are
// reshaped on the way (H.264, H.265, AV1), keys of CTR+HMAC suites, and
// the first frames of a key while WebCrypto imports it take the
// synchronous path.
import { CallsealError } from './errors.js';

/**
 * Frames from this many bytes take WebCrypto; smaller ones the core's
 * AES-GCM. Measured by `scripts/bench-wasm` (its "crossover" table) in
 * headless Chromium on a 2-core x86-64 VM: see BENCHMARKS.md.
 */
export const WEBCRYPTO_MIN_BYTES = 1000;

const CODEC_BY_ID = { 1: 'Opus', 2: 'VP8', 3: 'VP9', 7: 'generic' };
// Receive keys kept imported per receiver (least recently used dropped first).
const MAX_RECEIVE_KEYS = 32;

const GCM = 'AES-GCM';

/**
 * `{ encrypt(sender, codec, frame), decrypt(receiver, frame) }`: each
 * returns its result, or a promise of it on the WebCrypto path. `encrypt`
 * gives the protected frame (a Uint8Array); `decrypt` gives
 * `{ codec, kid, counter, payload }` as `MediaReceiver.decryptFrame` does,
 * and fails with the same error codes.
 *
 * @param {object} [options]
 * @param {SubtleCrypto|null} [options.subtle] WebCrypto (default
 *   `crypto.subtle`; null: always the core's AES-GCM)
 * @param {number} [options.minBytes] the size threshold (default WEBCRYPTO_MIN_BYTES)
 */
export function createMediaCrypto({ subtle = globalThis.crypto?.subtle ?? null, minBytes = WEBCRYPTO_MIN_BYTES } = {}) {
  // How many first and last bytes of a frame the core plans from (its
  // HEAD_LEN and TAIL_LEN), read once.
  let headLen;
  let tailLen;
  // sender → { kid, key (its CryptoKey once imported) }
  const senderKeys = new WeakMap();
  // receiver → Map(serial → { key }), least recently used first
  const receiverKeys = new WeakMap();

  // The core imports the key into WebCrypto (non-extractable): its bytes
  // never reach this module. Until the import resolves, or if it fails,
  // `entry.key` stays null and frames take the synchronous path.
  function imported(entry, importing) {
    importing.then(
      (key) => {
        entry.key = key;
      },
      () => {},
    );
  }

  // The sender's CryptoKey for its current key id, or null (importing, or
  // not an AES-GCM key).
  function senderKey(sender) {
    const kid = sender.kid;
    let entry = senderKeys.get(sender);
    if (entry && entry.kid === kid) return entry.key;
    entry = { kid, key: null };
    senderKeys.set(sender, entry);
    try {
      imported(entry, sender.gcmKey());
    } catch {
      // Not an AES-GCM key: the synchronous path, for good.
    }
    return null;
  }

  function receiverKey(receiver, kid, serial) {
    let keys = receiverKeys.get(receiver);
    if (!keys) {
      keys = new Map();
      receiverKeys.set(receiver, keys);
    }
    let entry = keys.get(serial);
    if (entry) {
      // Most recently used last: keys in use stay however many others
      // (forged key ids of a followed sender, say) come and go.
      keys.delete(serial);
      keys.set(serial, entry);
      return entry.key;
    }
    entry = { key: null };
    keys.set(serial, entry);
    if (keys.size > MAX_RECEIVE_KEYS) keys.delete(keys.keys().next().value);
    try {
      imported(entry, receiver.gcmKey(kid, serial));
    } catch {
      // The key is gone or not AES-GCM: the synchronous path decides.
    }
    return null;
  }

  function encrypt(sender, codec, frame) {
    if (!subtle || frame.length < minBytes) return sender.encryptFrame(codec, frame);
    const key = senderKey(sender);
    if (!key) return sender.encryptFrame(codec, frame);
    headLen ??= sender.headLen;
    const plan = sender.sealExternal(codec, frame.subarray(0, headLen), frame.length);
    if (!plan) return sender.encryptFrame(codec, frame);
    const view = new DataView(plan.buffer, plan.byteOffset, plan.byteLength);
    const clearLen = view.getUint32(0, true);
    const headerLen = plan[4];
    const footer = plan[5];
    const nonce = plan.subarray(6, 18);
    const header = plan.subarray(18, 18 + headerLen);
    const aad = plan.subarray(18 + headerLen);
    return subtle
      .encrypt({ name: GCM, iv: nonce, additionalData: aad, tagLength: 128 }, key, frame.subarray(clearLen))
      .then((sealed) => {
        const body = new Uint8Array(sealed);
        const out = new Uint8Array(clearLen + body.length + headerLen + 1);
        out.set(frame.subarray(0, clearLen), 0);
        out.set(body, clearLen);
        out.set(header, clearLen + body.length);
        out[out.length - 1] = footer;
        return out;
      });
  }

  function decrypt(receiver, frame) {
    if (!subtle || frame.length < minBytes) return receiver.decryptFrame(frame);
    const len = frame.length;
    headLen ??= receiver.headLen;
    tailLen ??= receiver.tailLen;
    const tail = Math.min(len, tailLen);
    const plan = receiver.openExternal(frame.subarray(0, headLen), frame.subarray(len - tail), len);
    if (!plan) return receiver.decryptFrame(frame);
    const view = new DataView(plan.buffer, plan.byteOffset, plan.byteLength);
    const clearLen = view.getUint32(0, true);
    const bodyEnd = view.getUint32(4, true);
    const codec = CODEC_BY_ID[plan[8]];
    const kid = view.getBigUint64(9, true);
    const counter = view.getBigUint64(17, true);
    const serial = view.getBigUint64(25, true);
    const key = receiverKey(receiver, kid, serial);
    if (!key) return receiver.decryptFrame(frame);
    const params = { name: GCM, iv: plan.subarray(33, 45), additionalData: plan.subarray(45), tagLength: 128 };
    return subtle.decrypt(params, key, frame.subarray(clearLen, bodyEnd)).then(
      (plain) => {
        // Throws `replay` or `unknown-key-id` if the frame may not count.
        receiver.commitExternal(kid, counter, serial);
        const out = new Uint8Array(clearLen + plain.byteLength);
        out.set(frame.subarray(0, clearLen), 0);
        out.set(new Uint8Array(plain), clearLen);
        return { codec, kid, counter, payload: out };
      },
      (err) => {
        if (!err || err.name !== 'OperationError') throw err;
        try {
          receiver.rejectExternal(kid, counter, serial);
        } catch {
          // The key was replaced meanwhile: nothing to count against.
        }
        throw new CallsealError('authentication-failed', 'authentication failed (wrong key, or the frame was changed)');
      },
    );
  }

  return { encrypt, decrypt };
}
