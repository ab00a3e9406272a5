// The package's API in Node: frames, media mode, errors, ownership (calls:
// calls.test.mjs).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';

import {
  CallsealError,
  FrameReceiver,
  FrameSender,
  IdentityKeyPair,
  MediaReceiver,
  MediaSender,
  version,
} from '../../pkg/node.js';
import { assertCamelCase } from '../camel-case.mjs';
import { errorCode } from '../error-code.mjs';

const key = (byte, len = 16) => new Uint8Array(len).fill(byte);
const bytes = (...b) => new Uint8Array(b);
const meta = new TextEncoder().encode('rtp-metadata');


test('version is the workspace version', () => {
  const pkg = JSON.parse(readFileSync(new URL('../../pkg/package.json', import.meta.url)));
  assert.equal(version(), pkg.version);
});

test('frames round trip under every suite', () => {
  for (let suite = 1; suite <= 8; suite += 1) {
    const k = key(suite, 32);
    const sender = new FrameSender(suite, 7n, k);
    const receiver = new FrameReceiver();
    receiver.addKey(7n, suite, k);
    for (let i = 0; i < 3; i += 1) {
      const payload = new TextEncoder().encode(`frame ${i} of suite ${suite}`);
      const frame = sender.encrypt(meta, payload);
      assert.ok(frame instanceof Uint8Array);
      assert.notDeepEqual(frame.subarray(1, 1 + payload.length), payload);
      assert.deepEqual(receiver.decrypt(meta, frame), payload);
    }
    assert.equal(sender.nextCounter, 3n);
    sender.free();
    receiver.free();
  }
});

test('frame errors carry stable codes', () => {
  const sender = new FrameSender(4, 300n, key(1));
  const receiver = new FrameReceiver();
  receiver.addKey(300, 4, key(1)); // a number works where it is safe
  assert.equal(receiver.hasKey(300n), true);
  const frame = sender.encrypt(meta, bytes(1, 2, 3));
  assert.equal(errorCode(() => receiver.decrypt(bytes(9), frame)), 'authentication-failed');
  receiver.decrypt(meta, frame);
  assert.equal(errorCode(() => receiver.decrypt(meta, frame)), 'replay');
  const tampered = sender.encrypt(meta, bytes(4, 5, 6));
  tampered[tampered.length - 1] ^= 1;
  assert.equal(errorCode(() => receiver.decrypt(meta, tampered)), 'authentication-failed');
  assert.equal(errorCode(() => receiver.decrypt(meta, bytes())), 'malformed');
  assert.equal(errorCode(() => new FrameReceiver().decrypt(meta, frame)), 'unknown-key-id');
  assert.equal(errorCode(() => new FrameSender(9, 1n, key(1))), 'invalid-argument');
  assert.equal(errorCode(() => new FrameSender(4, -1, key(1))), 'invalid-argument');
  assert.equal(errorCode(() => new FrameSender(4, 2 ** 60, key(1))), 'invalid-argument');
  assert.equal(errorCode(() => new FrameSender(4, 1n << 64n, key(1))), 'invalid-argument');
  assert.equal(errorCode(() => FrameReceiver.withConfig(0, 16, 8)), 'invalid-argument');
  assert.equal(receiver.removeKey(300n), true);
  assert.equal(receiver.removeKey(300n), false);
});

test('a sender at the last counter is exhausted after one frame', () => {
  const max = (1n << 64n) - 1n;
  const sender = FrameSender.startingAt(4, (1n << 64n) - 2n, key(2), max);
  assert.equal(sender.kid, (1n << 64n) - 2n);
  assert.equal(sender.nextCounter, max);
  const frame = sender.encrypt(meta, bytes(1));
  assert.equal(sender.nextCounter, null);
  assert.equal(errorCode(() => sender.encrypt(meta, bytes(1))), 'key-exhausted');
  const receiver = FrameReceiver.withConfig(64, 4, 4);
  receiver.addKey((1n << 64n) - 2n, 4, key(2));
  assert.deepEqual(receiver.decrypt(meta, frame), bytes(1));
});

test('media mode keeps the VP8 header clear and finds the codec', () => {
  const sender = new MediaSender(4, 9n, key(3));
  const receiver = new MediaReceiver();
  receiver.addKey(9n, 4, key(3));
  const vp8 = bytes(0x31, 0x02, 0x00, 0xde, 0xad, 0xbe, 0xef, 1, 2, 3);
  const protectedFrame = sender.encryptFrame('video/VP8', vp8);
  assert.deepEqual(protectedFrame.subarray(0, 3), vp8.subarray(0, 3));
  assert.notDeepEqual(protectedFrame.subarray(3, 10), vp8.subarray(3));
  const out = receiver.decryptFrame(protectedFrame);
  assert.deepEqual(out, { codec: 'VP8', kid: 9n, counter: 0n, payload: vp8 });
  assert.deepEqual(Object.keys(out), ['codec', 'kid', 'counter', 'payload']);
  assert.equal(assertCamelCase(out), 4);
  const opus = sender.encryptFrame('Opus', bytes(0x78, 1, 2));
  assert.equal(receiver.decryptFrame(opus).codec, 'Opus');
  const forged = sender.encryptFrame('VP8', vp8);
  forged[0] ^= 1; // a clear byte, authenticated all the same
  assert.equal(errorCode(() => receiver.decryptFrame(forged)), 'authentication-failed');
  assert.equal(errorCode(() => sender.encryptFrame('video/red', vp8)), 'invalid-argument');
  assert.equal(errorCode(() => sender.encryptFrame('H.264', bytes(1, 2, 3))), 'malformed');
  assert.equal(errorCode(() => sender.ratchet()), 'invalid-argument');
  assert.equal(errorCode(() => receiver.decryptFrame(bytes())), 'malformed');
});

test('identity keys round trip through bytes; the copy is the caller\'s to wipe', () => {
  const id = IdentityKeyPair.generate();
  const secret = id.toBytes();
  assert.ok(secret instanceof Uint8Array);
  assert.equal(secret.length, 32);
  const again = IdentityKeyPair.fromBytes(secret);
  assert.deepEqual(again.publicKey(), id.publicKey());
  assert.equal(id.publicKey().length, 32);
  secret.fill(0); // wiping the copy leaves the key pair as it was
  assert.deepEqual(IdentityKeyPair.fromBytes(id.toBytes()).publicKey(), id.publicKey());
  assert.notDeepEqual(id.toBytes(), secret);
  assert.equal(errorCode(() => IdentityKeyPair.fromBytes(key(1, 31))), 'invalid-argument');
});

test('objects free, also through Symbol.dispose', () => {
  const sender = new FrameSender(4, 1n, key(1));
  sender.free();
  assert.throws(() => sender.encrypt(meta, bytes(1)));
  const receiver = new MediaReceiver();
  assert.equal(typeof receiver[Symbol.dispose], 'function');
  receiver[Symbol.dispose]();
  assert.throws(() => receiver.decryptFrame(bytes(1)));
});

test('encryptAsync and decryptAsync (WebCrypto AES-GCM) make and take the same frames', async () => {
  for (const suite of [4, 5]) {
    const k = key(suite, 32);
    const sync = FrameSender.startingAt(suite, 0x1234n, k, 77n);
    const viaWebCrypto = FrameSender.startingAt(suite, 0x1234n, k, 77n);
    const receiver = new FrameReceiver();
    receiver.addKey(0x1234n, suite, k);
    for (const size of [0, 1, 100, 5000, 50000]) {
      const payload = new Uint8Array(size).map((_, i) => i * 7);
      const pending = viaWebCrypto.encryptAsync(meta, payload);
      assert.ok(pending instanceof Promise);
      const frame = await pending;
      assert.deepEqual(frame, sync.encrypt(meta, payload));
      assert.deepEqual(await receiver.decryptAsync(meta, frame), payload);
      // Recorded once the tag verified: the same frame is a replay, both ways.
      await assert.rejects(receiver.decryptAsync(meta, frame), (e) => e instanceof CallsealError && e.code === 'replay');
      assert.equal(errorCode(() => receiver.decrypt(meta, frame)), 'replay');
    }
    // Sync frames open asynchronously and the other way round.
    const f1 = sync.encrypt(meta, bytes(1, 2));
    assert.deepEqual(await receiver.decryptAsync(meta, f1), bytes(1, 2));
    await viaWebCrypto.encryptAsync(meta, bytes()); // counter 82, taken by f1's sender
    const f2 = await viaWebCrypto.encryptAsync(meta, bytes(3));
    assert.deepEqual(receiver.decrypt(meta, f2), bytes(3));
    // A changed byte or other metadata: authentication-failed, nothing recorded.
    const f3 = await viaWebCrypto.encryptAsync(meta, bytes(4, 5, 6));
    const bad = f3.slice();
    bad[bad.length - 2] ^= 1;
    await assert.rejects(receiver.decryptAsync(meta, bad), (e) => e instanceof CallsealError && e.code === 'authentication-failed');
    await assert.rejects(receiver.decryptAsync(bytes(), f3), (e) => e.code === 'authentication-failed');
    assert.deepEqual(await receiver.decryptAsync(meta, f3), bytes(4, 5, 6));
  }
  // CTR-HMAC suites have no WebCrypto path.
  const rejectsWith = (promise, c) => assert.rejects(promise, (e) => e instanceof CallsealError && e.code === c);
  await rejectsWith(new FrameSender(1, 1n, key(1)).encryptAsync(meta, bytes(1)), 'invalid-argument');
  const r = new FrameReceiver();
  r.addKey(1n, 1, key(1));
  const f = new FrameSender(1, 1n, key(1)).encrypt(meta, bytes(1));
  await rejectsWith(r.decryptAsync(meta, f), 'invalid-argument');
  await rejectsWith(new FrameReceiver().decryptAsync(meta, f), 'unknown-key-id');
  await rejectsWith(r.decryptAsync(meta, bytes()), 'malformed');
});
