// The complete worker, in Node, on the real WebAssembly (transform-core.js
// behind E2eeWorker, joined in-process): the app's identity and store in
// the worker and continuity across a "reload" (new workers, the saved
// store), the events the page gets, retransmissions counted apart from
// failures, detaching, and the per-transceiver codec. The browser suite
// runs the same through real workers and IndexedDB.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as api from '../../pkg/node.js';
import { FAILURE_EVENT_MS } from '../../pkg/transform-core.js';
import { E2eeWorker } from '../../pkg/webrtc.js';

import { encodedFrame, inProcessWorker, key, payload, run } from './worker-harness.mjs';

/** Collects a worker's events of the given types, in order. */
function record(e2ee, types) {
  const seen = [];
  for (const type of types) e2ee.addEventListener(type, (event) => seen.push({ type, detail: event.detail }));
  return seen;
}

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

/** Runs a whole call handshake between two E2eeWorkers; returns both final steps. */
async function call(alice, bob) {
  const start = await alice.startCall({ uid: 'alice', peerUid: 'bob' });
  const answer = await bob.answerCall({ uid: 'bob', commit: start.message, expectedPeerUid: 'alice' });
  const reveal = await alice.handleSignal(answer.message);
  const confirm = await bob.handleSignal(reveal.message);
  const done = await alice.handleSignal(confirm.message);
  assert.equal(done.message, null);
  return { alice: done.status, bob: confirm.status };
}

/** A page's worker with its saved identity and store (what a reload restores). */
async function page(saved) {
  const e2ee = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  let store = saved.store;
  e2ee.addEventListener('store', (event) => {
    store = JSON.stringify(event.detail.store);
    saved.store = store;
  });
  const { publicKey } = await e2ee.useIdentity({ identitySecret: saved.secret, store });
  return { e2ee, publicKey };
}

test('continuity across reloads: verified once, known-verified after; a swapped identity is changed', async () => {
  const aliceSaved = { secret: new Uint8Array(32).fill(1), store: undefined };
  const bobSaved = { secret: new Uint8Array(32).fill(2), store: undefined };

  // First call: both new, the users compare codes and mark them verified.
  let alice = await page(aliceSaved);
  let bob = await page(bobSaved);
  assert.deepEqual(alice.publicKey, api.IdentityKeyPair.fromBytes(new Uint8Array(32).fill(1)).publicKey());
  const first = await call(alice.e2ee, bob.e2ee);
  assert.deepEqual([first.alice.peerStatus, first.bob.peerStatus], ['new', 'new']);
  assert.equal(first.alice.securityCode, first.bob.securityCode);
  await alice.e2ee.markVerified();
  await bob.e2ee.markVerified();
  await settle();
  const aliceStore = JSON.parse(aliceSaved.store);
  assert.deepEqual(Object.keys(aliceStore), ['bob']);
  assert.equal(aliceStore.bob.verified, true);
  assert.equal(aliceStore.bob.key, Buffer.from(bob.publicKey).toString('hex'));
  assert.deepEqual(await alice.e2ee.exportStore(), aliceStore);
  assert.equal(aliceSaved.secret.every((b) => b === 1), true, "the app's secret stays the app's");

  // "Reload": new workers, the saved identities and stores: known-verified
  // without comparing again.
  alice = await page(aliceSaved);
  bob = await page(bobSaved);
  const again = await call(alice.e2ee, bob.e2ee);
  assert.deepEqual([again.alice.peerStatus, again.bob.peerStatus], ['known-verified', 'known-verified']);
  assert.deepEqual([again.alice.indicator, again.bob.indicator], ['lock-and-shield-verified', 'lock-and-shield-verified']);

  // Bob's identity swapped (a new device, or someone else): Alice sees
  // `changed` and a peer-changed event; her store now holds the new key,
  // unverified.
  alice = await page(aliceSaved);
  bob = await page({ secret: new Uint8Array(32).fill(3), store: bobSaved.store });
  const events = record(alice.e2ee, ['peer-changed']);
  const swapped = await call(alice.e2ee, bob.e2ee);
  await settle();
  assert.equal(swapped.alice.peerStatus, 'changed');
  assert.equal(events.length, 1);
  assert.equal(events[0].detail.peerUid, 'bob');
  assert.equal(JSON.parse(aliceSaved.store).bob.verified, false);
  assert.equal(JSON.parse(aliceSaved.store).bob.key, Buffer.from(bob.publicKey).toString('hex'));
});

test('useIdentity refuses a bad store or secret and keeps what it had; the secret copy is wiped', async () => {
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const { publicKey } = await e2ee.useIdentity({ identitySecret: new Uint8Array(32).fill(5), store: { bob: { key: '11'.repeat(32), verified: true } } });
  const bad = [
    { store: '{"bob": {"key": "00", "verified": true}}', code: 'storage' },
    { store: '{"bob": {"key": "' + '00'.repeat(32) + '", "verified": true, "extra": 1}}', code: 'storage' },
    { store: 'not json', code: 'storage' },
  ];
  for (const { store, code } of bad) {
    await assert.rejects(e2ee.useIdentity({ identitySecret: new Uint8Array(32).fill(6), store }), { code });
  }
  await assert.rejects(e2ee.useIdentity({ identitySecret: new Uint8Array(31) }), { code: 'invalid-argument' });
  await assert.rejects(e2ee.useIdentity({}), { code: 'invalid-argument' });
  // Still the first identity and store.
  assert.deepEqual(await e2ee.exportStore(), { bob: { key: '11'.repeat(32), verified: true } });
  const start = await e2ee.startCall({ uid: 'alice', peerUid: 'bob' });
  assert.ok(start.message);
  assert.deepEqual(publicKey, api.IdentityKeyPair.fromBytes(new Uint8Array(32).fill(5)).publicKey());
  for (const { data } of worker.posted.filter((p) => p.data.op === 'useIdentity' && p.data.identitySecret)) {
    assert.ok(data.identitySecret.every((b) => b === 0), 'the worker wiped its copy');
  }
});

test('state and code events follow the call', async () => {
  const alice = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  const bob = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  const seen = record(alice, ['state', 'code', 'store']);
  const { alice: status } = await call(alice, bob);
  await settle();
  const states = seen.filter((e) => e.type === 'state').map((e) => e.detail.state);
  assert.equal(states.at(0), 'negotiating');
  assert.equal(states.at(-1), 'encrypted');
  const codes = seen.filter((e) => e.type === 'code');
  assert.equal(codes.length, 1);
  assert.deepEqual(codes[0].detail, { securityCode: status.securityCode, peerUid: 'bob' });
  // The store learned bob's key: a store event to persist it.
  const stores = seen.filter((e) => e.type === 'store');
  assert.equal(stores.length, 1);
  assert.deepEqual(Object.keys(stores[0].detail.store), ['bob']);
  await alice.markVerified();
  await settle();
  assert.equal(seen.at(-1).type, 'store');
  assert.equal(seen.filter((e) => e.type === 'state').at(-1).detail.state, 'verified');
  // A rekey: the epoch moves, a state event says so; the code does not change.
  const offer = await alice.rekeyCall();
  const answer = await bob.handleSignal(offer.message);
  const ack = await alice.handleSignal(answer.message);
  if (ack.message) await bob.handleSignal(ack.message);
  await settle();
  assert.equal(seen.filter((e) => e.type === 'state').at(-1).detail.epoch, 1);
  assert.equal(seen.filter((e) => e.type === 'code').length, 1);
});

test('retransmitted frames are dropped quietly and counted apart; failures are events, coalesced', async () => {
  let clock = 0;
  const worker = inProcessWorker({ now: () => clock });
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const seen = record(e2ee, ['decrypt-failed', 'missing-key']);
  await e2ee.addReceiverKey({ kid: 1n, suite: 4, baseKey: key(1) });
  const sender = new api.MediaSender(4, 1n, key(1));
  const stranger = new api.MediaSender(4, 9n, key(9));
  const decrypt = worker.core.transform({ side: 'receive', kind: 'video' });
  const frames = [0, 1, 2].map((i) => sender.encryptFrame('video/VP8', payload(60, i)));

  // WebRTC delivers frame 1 twice and frame 2 three times: three frames
  // out, the repeats counted as duplicates, no failure, no event.
  const delivered = [0, 1, 1, 2, 2, 2].map((i) => encodedFrame(frames[i]));
  assert.equal(run(decrypt, delivered).length, 3);
  let stats = await e2ee.stats();
  assert.equal(stats.duplicates, 3);
  assert.deepEqual(stats.duplicatesByKind, { audio: 0, video: 3 });
  assert.equal(stats.decryptFailures, 0);

  // Tampered frames: failures, one event within the window, then the count.
  const tampered = () => {
    const bytes = sender.encryptFrame('video/VP8', payload(60, 7));
    bytes[bytes.length - 8] ^= 1; // in the tag: media mode puts the SFrame header and a footer byte after it
    return encodedFrame(bytes);
  };
  run(decrypt, [tampered(), tampered(), tampered()]);
  clock += FAILURE_EVENT_MS;
  run(decrypt, [tampered()]);
  // A key id the worker has no key for: a failure and a missing-key event.
  run(decrypt, [encodedFrame(stranger.encryptFrame('video/VP8', payload(30, 1)))]);
  await settle();
  stats = await e2ee.stats();
  assert.equal(stats.decryptFailures, 5);
  assert.equal(stats.failuresByCode['authentication-failed'], 4, JSON.stringify(stats.failuresByCode));
  assert.equal(stats.failuresByCode['unknown-key-id'], 1);
  const failed = seen.filter((e) => e.type === 'decrypt-failed').map((e) => [e.detail.code, e.detail.kind, e.detail.count]);
  assert.deepEqual(failed, [
    ['authentication-failed', 'video', 1],
    ['authentication-failed', 'video', 3],
    ['unknown-key-id', 'video', 1],
  ]);
  const missing = seen.filter((e) => e.type === 'missing-key');
  assert.deepEqual(missing.map((e) => e.detail), [{ kid: 9n, kind: 'video', count: 1 }]);
  sender.free();
  stranger.free();
});

test('unprotect: the sender loses its track first, the worker stops its transform, the target is no longer protected', async () => {
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const tracks = [];
  const sender = {
    createEncodedStreams: () => new TransformStream(),
    replaceTrack: async (track) => {
      tracks.push(track);
    },
  };
  assert.equal(await e2ee.unprotect(sender), false, 'not protected: nothing to do');
  await e2ee.protectSender(sender, { codec: 'video/VP8' });
  const { token, codec } = worker.posted.find((p) => p.data.op === 'stream').data.options;
  assert.equal(codec, 'video/VP8');
  await e2ee.setSenderKey({ suite: 4, kid: 1n, baseKey: key(1) });

  // The transform the worker made for it (with the same options).
  const encrypt = worker.core.transform({ side: 'send', token, codec });
  const noMeta = { data: payload(40, 1).buffer, type: 'delta', getMetadata: () => ({}) };
  assert.equal(run(encrypt, [noMeta]).length, 1);
  assert.deepEqual((await e2ee.stats()).encryptedByCodec, { 'video/VP8': 1 }, 'the transceiver codec names a frame without metadata');

  assert.deepEqual((await e2ee.stats()).transforms, { send: 1, receive: 0 });
  assert.equal(await e2ee.unprotect(sender), true);
  assert.deepEqual((await e2ee.stats()).transforms, { send: 0, receive: 0 });
  assert.deepEqual(tracks, [null], 'replaceTrack(null) before detaching');
  assert.equal(e2ee.isProtected(sender), false);
  assert.deepEqual(run(encrypt, [encodedFrame(payload(40, 2))]), ['terminated'], 'the stream ends: nothing is sent');
  await assert.rejects(worker.core.handle({ id: 1, op: 'unprotect' }).then((r) => {
    if (r.error) throw Object.assign(new Error(r.error.message), r.error);
  }), { code: 'invalid-argument' });
});

test('a stream that fails is an event and a count', async () => {
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const seen = record(e2ee, ['stream-error']);
  worker.core.transform({ side: 'receive', token: 4 });
  worker.core.streamFailed({ side: 'receive', token: 4 }, new Error('the network went away'));
  await settle();
  assert.deepEqual(seen.map((e) => e.detail), [{ side: 'receive', token: 4, message: 'the network went away' }]);
  const stats = await e2ee.stats();
  assert.equal(stats.streamErrors, 1);
  assert.deepEqual(stats.transforms, { send: 0, receive: 0 });
});
