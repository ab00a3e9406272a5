// The platform AES-GCM for FrameSender.encryptAsync and
// FrameReceiver.decryptAsync: WebCrypto computes AES-GCM with the key, nonce
// and AAD the core gives it, nothing else. Imported by the Rust side.
//
// The byte arguments are views into WebAssembly memory, valid only until
// the call returns: each function copies them before its first await.
import { callsealError } from './errors.js';

function subtle() {
  const s = globalThis.crypto && globalThis.crypto.subtle;
  if (!s) throw callsealError('feature-unavailable', 'WebCrypto (crypto.subtle) is not available here');
  return s;
}

/** A non-extractable AES-GCM CryptoKey (a promise). */
export function importGcmKey(raw) {
  try {
    // importKey copies the bytes before it returns; then the copy is wiped.
    const copy = raw.slice();
    const key = subtle().importKey('raw', copy, 'AES-GCM', false, ['encrypt', 'decrypt']);
    copy.fill(0);
    return key;
  } catch (err) {
    return Promise.reject(err);
  }
}

/** header || AES-GCM(payload) || tag. */
export async function sealFrame(key, headerView, nonceView, aadView, payload) {
  const [header, nonce, aad] = [headerView.slice(), nonceView.slice(), aadView.slice()];
  const sealed = await subtle().encrypt(
    { name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 },
    await key,
    payload,
  );
  const out = new Uint8Array(header.length + sealed.byteLength);
  out.set(header, 0);
  out.set(new Uint8Array(sealed), header.length);
  return out;
}

/** The plaintext of ciphertext || tag, or a CallsealError authentication-failed. */
export async function openFrame(key, nonceView, aadView, body) {
  const [nonce, aad] = [nonceView.slice(), aadView.slice()];
  let plain;
  try {
    plain = await subtle().decrypt({ name: 'AES-GCM', iv: nonce, additionalData: aad, tagLength: 128 }, await key, body);
  } catch (err) {
    if (err && err.name === 'OperationError') {
      throw callsealError('authentication-failed', 'authentication failed (wrong key, or the frame was changed)');
    }
    throw err;
  }
  return new Uint8Array(plain);
}
