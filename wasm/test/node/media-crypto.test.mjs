// The worker's per-frame choice of AES-GCM (media-crypto.js) on the real
// WebAssembly and Node's WebCrypto: the WebCrypto path makes and takes the
// very bytes of the synchronous path, refuses what it refuses, and cannot
// commit a frame whose key was replaced while WebCrypto decrypted it.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { MediaReceiver, MediaSender } from '../../pkg/node.js';
import { createMediaCrypto } from '../../pkg/media-crypto.js';

const key = (b) => new Uint8Array(16).fill(b);
const settle = () => new Promise((r) => setTimeout(r, 20));

function frameOf(len, first = 0x31) {
  const f = new Uint8Array(len);
  for (let i = 0; i < len; i += 1) f[i] = (i * 7 + 3) & 0xff;
  if (len > 0) f[0] = first;
  return f;
}

/** A media crypto whose keys are imported (one warm-up frame each way). */
async function warm(media, sender, receiver, codec) {
  const first = media.encrypt(sender, codec, frameOf(600));
  assert.ok(first instanceof Uint8Array, 'the first frame of a key goes the synchronous way');
  await settle();
  const again = await media.encrypt(sender, codec, frameOf(600));
  assert.ok(media.decrypt(receiver, first).payload, 'the first frame opens synchronously');
  await settle();
  return media.decrypt(receiver, again);
}

test('the WebCrypto path makes the bytes of the synchronous path and opens both', async () => {
  const media = createMediaCrypto({ minBytes: 0 });
  for (const codec of ['video/VP8', 'VP8', 'audio/opus', 'VP9', 'generic']) {
    for (const first of [0x30, 0x31]) {
      const outside = new MediaSender(4, 9n, key(9));
      const receiver = new MediaReceiver();
      receiver.addKey(9n, 4, key(9));
      await warm(media, outside, receiver, codec);
      for (const len of [0, 1, 3, 9, 10, 11, 100, 1500, 60000]) {
        const frame = frameOf(len, first);
        const inside = MediaSender.startingAt(4, 9n, key(9), outside.nextCounter);
        const expected = inside.encryptFrame(codec, frame);
        const pending = media.encrypt(outside, codec, frame);
        assert.equal(typeof pending.then, 'function', `${codec} ${len}: WebCrypto path`);
        const sealed = await pending;
        assert.deepEqual(sealed, expected, `${codec} ${len} bytes`);
        const opening = media.decrypt(receiver, sealed);
        assert.equal(typeof opening.then, 'function');
        const opened = await opening;
        assert.deepEqual(opened.payload, frame);
        assert.equal(opened.kid, 9n);
        assert.equal(opened.counter, inside.nextCounter - 1n);
        // Once committed, the same frame is a replay on either path.
        await assert.rejects(async () => media.decrypt(receiver, sealed), (e) => e.code === 'replay');
        assert.throws(() => receiver.decryptFrame(sealed), (e) => e.code === 'replay');
        inside.free();
      }
      outside.free();
      receiver.free();
    }
  }
});

test('tampered frames fail with authentication-failed; H.264 and CTR keys take the synchronous path', async () => {
  const media = createMediaCrypto({ minBytes: 0 });
  const sender = new MediaSender(4, 3n, key(3));
  const receiver = new MediaReceiver();
  receiver.addKey(3n, 4, key(3));
  await warm(media, sender, receiver, 'VP8');
  const sealed = await media.encrypt(sender, 'VP8', frameOf(2000));
  for (const at of [0, 2, 3, 1000, sealed.length - 20, sealed.length - 3]) {
    const bad = sealed.slice();
    bad[at] ^= 1;
    await assert.rejects(async () => media.decrypt(receiver, bad), (e) => e.code === 'authentication-failed', `byte ${at}`);
  }
  assert.deepEqual((await media.decrypt(receiver, sealed)).payload, frameOf(2000));

  const h264 = new Uint8Array([0, 0, 0, 1, 0x65, ...frameOf(3000).subarray(5)]);
  const protectedH264 = media.encrypt(sender, 'H.264', h264);
  assert.ok(protectedH264 instanceof Uint8Array, 'H.264 is reshaped by the core: synchronous');
  const openedH264 = media.decrypt(receiver, protectedH264);
  assert.equal(openedH264.codec, 'H.264');

  const ctr = new MediaSender(2, 5n, key(5));
  const ctrReceiver = new MediaReceiver();
  ctrReceiver.addKey(5n, 2, key(5));
  const a = media.encrypt(ctr, 'VP8', frameOf(3000));
  await settle();
  const b = media.encrypt(ctr, 'VP8', frameOf(3000));
  assert.ok(a instanceof Uint8Array && b instanceof Uint8Array, 'CTR+HMAC: synchronous');
  assert.deepEqual(media.decrypt(ctrReceiver, b).payload, frameOf(3000));
});

test('a key replaced while WebCrypto decrypts cannot commit; small frames stay synchronous', async () => {
  const media = createMediaCrypto({ minBytes: 0 });
  const sender = new MediaSender(4, 6n, key(6));
  const receiver = new MediaReceiver();
  receiver.addKey(6n, 4, key(6));
  await warm(media, sender, receiver, 'VP8');
  const sealed = await media.encrypt(sender, 'VP8', frameOf(5000));
  const opening = media.decrypt(receiver, sealed);
  receiver.addKey(6n, 4, key(7)); // the key id's key changes mid-flight
  await assert.rejects(opening, (e) => e.code === 'unknown-key-id');
  // The new key's window took nothing from it; the frame does not open
  // under the new key.
  assert.throws(() => receiver.decryptFrame(sealed), (e) => e.code === 'authentication-failed');

  const thresholded = createMediaCrypto({ minBytes: 1000 });
  const small = thresholded.encrypt(sender, 'VP8', frameOf(999));
  assert.ok(small instanceof Uint8Array);
  const none = createMediaCrypto({ subtle: null });
  assert.ok(none.encrypt(sender, 'VP8', frameOf(50000)) instanceof Uint8Array);
});
