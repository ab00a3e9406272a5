// Findings of a hostile review of the worker, its events and the store's
// JSON, each a test written to fail before its fix (a new call kept the
// previous call's media keys; a peer named `__proto__` vanished from the
// store's JSON; two workers on one keyring undid each other's entries;
// forged key ids flooded `missing-key` events; a frame moved to the wrong
// track used up its counter; useKeyring could leave the secret unwiped).
// The ones marked "holds" showed that a suspicion did not reproduce.
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

test('a frame moved to the wrong track does not use up its counter on the right one', async () => {
  // One call sender encrypts audio and video under one key id. A network
  // that copies a video frame into the audio path gets it refused there as
  // misrouted, but only after the receiver recorded its counter: the real
  // frame, arriving on the video path, is then dropped as a "duplicate"
  // (a retransmission: no failure, no event).
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  await e2ee.addReceiverKey({ kid: 1n, suite: 4, baseKey: key(1) });
  const sender = new api.MediaSender(4, 1n, key(1));
  const video = sender.encryptFrame('video/VP8', payload(60, 3));
  const audioPath = worker.core.transform({ side: 'receive', kind: 'audio' });
  const videoPath = worker.core.transform({ side: 'receive', kind: 'video' });
  assert.equal(run(audioPath, [encodedFrame(video, { kind: 'audio' })]).length, 0, 'refused on the audio track');
  const delivered = run(videoPath, [encodedFrame(video)]);
  const stats = await e2ee.stats();
  assert.equal(delivered.length, 1, `the genuine video frame was dropped (duplicates: ${stats.duplicates}, misrouted: ${stats.misrouted})`);
  sender.free();
});

test('open(): a frame refused as another track\'s can still be opened on its own track', async () => {
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  await e2ee.addReceiverKey({ kid: 1n, suite: 4, baseKey: key(1) });
  const sender = new api.MediaSender(4, 1n, key(1));
  const frame = sender.encryptFrame('video/VP8', payload(60, 3));
  await assert.rejects(e2ee.open({ frame: frame.slice(), kind: 'audio' }), { code: 'protocol-violation' });
  const opened = await e2ee.open({ frame: frame.slice(), kind: 'video' }).catch((err) => err);
  assert.ok(!(opened instanceof Error), `refused: ${opened && opened.code}`);
  sender.free();
});

test('two workers on one keyring (two calls at once) do not forget each other\'s verified peers', async () => {
  // BrowserKeyring's interface, in memory (the browser's IndexedDB saves
  // whole texts the same way). One worker runs one call, so a page with two
  // calls at once has two workers on the same keyring; each saves its own
  // whole store on every change.
  const saved = { identity: new Uint8Array(32).fill(1), peers: null };
  const keyring = {
    identitySecret: async () => saved.identity.slice(),
    peers: async () => saved.peers,
    savePeers: async (store) => {
      saved.peers = typeof store === 'string' ? store : JSON.stringify(store);
    },
  };
  const first = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  const second = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  await first.useKeyring(keyring);
  await second.useKeyring(keyring);
  const bob = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  const carol = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  await call(first, bob, 'alice', 'bob');
  await first.markVerified();
  await settle();
  assert.equal(JSON.parse(saved.peers).bob.verified, true);
  await call(second, carol, 'alice', 'carol');
  await settle();
  assert.deepEqual(Object.keys(JSON.parse(saved.peers)).sort(), ['bob', 'carol'], `keyring now holds ${saved.peers}`);
});

test('holds: only the worker\'s own operations dispatch (no inherited names, no host op without the host)', async () => {
  const worker = inProcessWorker();
  const core = worker.core;
  for (const op of ['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', '__defineGetter__', 'stream', 'handle', 'transform']) {
    const reply = await core.handle({ id: 1, op });
    assert.equal(reply.error && reply.error.code, 'invalid-argument', op);
  }
  // A request whose args carry an own __proto__ (structured clone of
  // JSON.parse output) does not change the prototype the op sees.
  const data = JSON.parse('{"id":2,"op":"decideCall","__proto__":{"policy":{"signed":"x"}}}');
  const reply = await core.handle(data);
  assert.equal(reply.error.code, 'invalid-argument');
  assert.match(reply.error.message, /needs a policy/);
});

test('useKeyring wipes the identity secret it read even when reading the peers fails', async () => {
  const handed = [];
  const keyring = {
    identitySecret: async () => {
      const copy = new Uint8Array(32).fill(7);
      handed.push(copy);
      return copy;
    },
    peers: async () => {
      throw new Error('IndexedDB: the database connection is closing');
    },
    savePeers: async () => {},
  };
  const e2ee = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  await assert.rejects(e2ee.useKeyring(keyring));
  assert.equal(handed.length, 1);
  assert.ok(handed[0].every((b) => b === 0), 'the secret copy useKeyring got is left in memory');
});

test('holds: a store text naming a peer or a field twice through escapes is refused whole', () => {
  const k1 = '11'.repeat(32);
  const k2 = '22'.repeat(32);
  for (const text of [
    `{"bob":{"key":"${k1}","verified":true},"b\\u006fb":{"key":"${k2}","verified":false}}`,
    `{"bob":{"key":"${k1}","verified":true,"verifi\\u0065d":false}}`,
    `{"bob":{"key":"${k1}","k\\u0065y":"${k2}","verified":true}}`,
  ]) {
    assert.throws(() => api.IdentityStore.fromJSON(text), { code: 'storage' }, text);
  }
});
