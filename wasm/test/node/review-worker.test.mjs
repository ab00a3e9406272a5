// Hostile review (branch review) of the worker, its events and the store's
// JSON: each test shows one finding and FAILS on the code it was written
// against (see the report); the ones marked "holds" pass and show that a
// suspicion did not reproduce.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as api from '../../pkg/node.js';
import { E2eeWorker } from '../../pkg/webrtc.js';

import { encodedFrame, inProcessWorker, key, payload, run } from './worker-harness.mjs';

const settle = () => new Promise((resolve) => setTimeout(resolve, 0));

function record(e2ee, types) {
  const seen = [];
  for (const type of types) e2ee.addEventListener(type, (event) => seen.push({ type, detail: event.detail }));
  return seen;
}

async function call(a, b, aUid, bUid) {
  const start = await a.startCall({ uid: aUid, peerUid: bUid });
  const answer = await b.answerCall({ uid: bUid, commit: start.message, expectedPeerUid: aUid });
  const reveal = await a.handleSignal(answer.message);
  const confirm = await b.handleSignal(reveal.message);
  const done = await a.handleSignal(confirm.message);
  assert.equal(done.message, null);
  return { a: done.status, b: confirm.status };
}

async function page(saved) {
  const e2ee = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  e2ee.addEventListener('store', (event) => {
    saved.store = JSON.stringify(event.detail.store);
  });
  const { publicKey } = await e2ee.useIdentity({ identitySecret: saved.secret.slice(), store: saved.store });
  return { e2ee, publicKey };
}

test('missing-key events are bounded: frames under many forged key ids do not flood the page', async () => {
  // A frame source that can inject frames (an SFU, the relay) puts a new
  // key id in every frame: each one is a new coalescing key, so every
  // frame becomes one `missing-key` event posted to the page, and the
  // worker remembers every key id it ever saw.
  const clock = 0;
  const worker = inProcessWorker({ now: () => clock });
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const seen = record(e2ee, ['missing-key', 'decrypt-failed']);
  await e2ee.addReceiverKey({ kid: 1n, suite: 4, baseKey: key(1) });
  const decrypt = worker.core.transform({ side: 'receive', kind: 'video' });
  const forged = [];
  for (let kid = 100n; kid < 600n; kid += 1n) {
    const s = new api.MediaSender(4, kid, key(7));
    forged.push(encodedFrame(s.encryptFrame('video/VP8', payload(30, 1))));
    s.free();
  }
  run(decrypt, forged);
  await settle();
  const missing = seen.filter((e) => e.type === 'missing-key').length;
  const failed = seen.filter((e) => e.type === 'decrypt-failed').length;
  assert.equal(failed, 1, 'decrypt-failed is coalesced');
  // 500 frames within one millisecond: at most a handful of events.
  assert.ok(missing <= 8, `500 forged frames in 1 ms gave ${missing} missing-key events`);
});

test('a peer whose uid is __proto__ survives the store JSON (continuity across a reload)', async () => {
  const aliceSaved = { secret: new Uint8Array(32).fill(1), store: undefined };
  let alice = await page(aliceSaved);
  const peer = await page({ secret: new Uint8Array(32).fill(2), store: undefined });
  const first = await call(alice.e2ee, peer.e2ee, 'alice', '__proto__');
  assert.equal(first.a.peerStatus, 'new');
  await alice.e2ee.markVerified();
  await settle();
  // toJSON() writes the entry with a [[Set]] of "__proto__": it becomes the
  // object's prototype and vanishes from exportStore and the store event.
  const exported = JSON.stringify(await alice.e2ee.exportStore());
  const persisted = aliceSaved.store;

  // After a reload, someone else under that uid must be `changed` (the
  // verified key is not theirs), not `new`.
  alice = await page(aliceSaved);
  const impostor = await page({ secret: new Uint8Array(32).fill(3), store: undefined });
  const swapped = await call(alice.e2ee, impostor.e2ee, 'alice', '__proto__');
  assert.equal(
    swapped.a.peerStatus,
    'changed',
    `verified peer lost: exportStore ${exported}, persisted store ${persisted}`,
  );
});

test('IdentityStore JSON round trip keeps a peer named __proto__ (text in, object out)', () => {
  const text = JSON.stringify({ bob: { key: '22'.repeat(32), verified: true } }).replace(
    '{',
    `{"__proto__":{"key":"${'11'.repeat(32)}","verified":true},`,
  );
  const store = api.IdentityStore.fromJSON(text);
  const again = JSON.parse(JSON.stringify(store));
  assert.deepEqual(Object.keys(again).sort(), ['__proto__', 'bob']);
  store.free();
});

test("a new call does not keep using the previous call's media keys", async () => {
  // Alice finishes a call with Mallory, then calls Bob from the same worker
  // (same transceivers). Until Bob's handshake completes (forever, if it
  // never does) her sender still encrypts under the Mallory call's key and
  // her receiver still accepts Mallory's frames.
  const aliceWorker = inProcessWorker();
  const alice = new E2eeWorker({ worker: aliceWorker, mode: 'encoded-streams' });
  const malloryWorker = inProcessWorker();
  const mallory = new E2eeWorker({ worker: malloryWorker, mode: 'encoded-streams' });
  await call(alice, mallory, 'alice', 'mallory');

  const started = await alice.startCall({ uid: 'alice', peerUid: 'bob' });
  assert.equal(started.status.state, 'negotiating');

  // A frame Alice's transform sends now, in the call with Bob...
  const encrypt = aliceWorker.core.transform({ side: 'send' });
  const out = run(encrypt, [encodedFrame(payload(40, 9))]);
  // ...and one Mallory sends into it.
  const malloryOut = run(malloryWorker.core.transform({ side: 'send' }), [encodedFrame(payload(40, 5))]);
  const accepted = run(aliceWorker.core.transform({ side: 'receive', kind: 'video' }), malloryOut);
  let malloryReads = 0;
  if (out.length === 1) {
    malloryReads = run(malloryWorker.core.transform({ side: 'receive', kind: 'video' }), out).length;
  }
  assert.deepEqual(
    { sentUnderOldKey: out.length, malloryReadsIt: malloryReads, malloryFramesAccepted: accepted.length },
    { sentUnderOldKey: 0, malloryReadsIt: 0, malloryFramesAccepted: 0 },
  );
});
