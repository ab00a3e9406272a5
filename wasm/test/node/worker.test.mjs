// The transform worker's rules, in Node, on the real WebAssembly: the
// worker's logic (transform-core.js) behind the page's E2eeWorker
// (webrtc.js), joined by an in-process stand-in for the Worker's message
// port. The browser suite runs the same rules in a real worker.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as api from '../../pkg/node.js';
import { createTransformCore } from '../../pkg/transform-core.js';
import { E2eeWorker } from '../../pkg/webrtc.js';

import { encodedFrame, inProcessWorker, key, payload, run } from './worker-harness.mjs';

test('a repeated key id is refused, and resumed only from its next counter', async () => {
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const encrypt = worker.core.transform({ side: 'send' });
  await e2ee.setSenderKey({ suite: 4, kid: 1n, baseKey: key(1) });
  const first = run(encrypt, [0, 1, 2].map((i) => encodedFrame(payload(40, i))));
  assert.equal(first.length, 3);
  assert.deepEqual(await e2ee.senderState(), { kid: 1n, nextCounter: 3n });

  // The same key id again from counter 0 (a reconnect, a repeating key
  // service): refused, the old sender stays.
  await assert.rejects(e2ee.setSenderKey({ suite: 4, kid: 1n, baseKey: key(1) }), (err) => {
    assert.equal(err.code, 'invalid-argument');
    assert.match(err.message, /key id 1 was already used/);
    return true;
  });
  // Resuming below the next unused counter is refused too.
  await assert.rejects(e2ee.setSenderKey({ suite: 4, kid: 1n, baseKey: key(1), startingAt: 2n }), /cannot resume at counter 2/);
  assert.deepEqual(await e2ee.senderState(), { kid: 1n, nextCounter: 3n });
  // From its saved counter it resumes; a new key id starts anywhere.
  await e2ee.setSenderKey({ suite: 4, kid: 1n, baseKey: key(1), startingAt: 3n });
  const resumed = run(encrypt, [encodedFrame(payload(40, 9))]);
  await e2ee.setSenderKey({ suite: 4, kid: 2n, baseKey: key(2) });

  // Every frame under key id 1 has its own counter, so its own nonce.
  const receiver = new api.MediaReceiver();
  receiver.addKey(1n, 4, key(1));
  const counters = [...first, ...resumed].map((f) => receiver.decryptFrame(new Uint8Array(f.data)).counter);
  assert.deepEqual(counters, [0n, 1n, 2n, 3n]);
  receiver.free();
});

test("a replaced sender's key id stays used", async () => {
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const encrypt = worker.core.transform({ side: 'send' });
  await e2ee.setSenderKey({ suite: 4, kid: 5n, baseKey: key(5) });
  run(encrypt, [encodedFrame(payload(10, 1)), encodedFrame(payload(10, 2))]);
  await e2ee.setSenderKey({ suite: 4, kid: 6n, baseKey: key(6) });
  // Another key under the same key id is refused as well: receivers could
  // not tell the two apart.
  await assert.rejects(e2ee.setSenderKey({ suite: 4, kid: 5n, baseKey: key(9) }), /already used/);
  await assert.rejects(e2ee.setSenderKey({ suite: 4, kid: 5n, baseKey: key(5), startingAt: 1 }), /below 2/);
  await e2ee.setSenderKey({ suite: 4, kid: 5n, baseKey: key(5), startingAt: 2 });
  assert.deepEqual(await e2ee.senderState(), { kid: 5n, nextCounter: 2n });
});

test('key bytes go to the worker as a transferred copy, wiped once used', async () => {
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const mine = key(7);
  await e2ee.setSenderKey({ suite: 4, kid: 1n, baseKey: mine });
  await e2ee.addReceiverKey({ suite: 4, kid: 2n, baseKey: mine });
  const secret = new Uint8Array(32).fill(3);
  await e2ee.startCall({ uid: 'alice', peerUid: 'bob', identitySecret: secret });
  assert.deepEqual(mine, key(7), "the caller's buffer is the caller's");
  assert.deepEqual(secret, new Uint8Array(32).fill(3));
  const sent = worker.posted.filter((p) => p.data.baseKey || p.data.identitySecret);
  assert.equal(sent.length, 3);
  for (const { data, transfer } of sent) {
    const bytes = data.baseKey || data.identitySecret;
    assert.notEqual(bytes, mine);
    assert.deepEqual(transfer, [bytes.buffer], 'the copy is transferred');
    assert.ok(bytes.every((b) => b === 0), `${data.op}: the worker wiped its copy`);
  }
  // A refused key is wiped too.
  await assert.rejects(e2ee.setSenderKey({ suite: 99, kid: 3n, baseKey: key(8) }));
  const refused = worker.posted.at(-1).data.baseKey;
  assert.ok(refused.every((b) => b === 0));
  await assert.rejects(e2ee.setSenderKey({ suite: 4, kid: 3n, baseKey: 'not bytes' }), (err) => err.code === 'invalid-argument');
});

test('a frame moved to another track is dropped and counted', async () => {
  const core = createTransformCore(api);
  const reply = async (op, args) => {
    const r = await core.handle({ id: 1, op, ...args });
    assert.equal(r.error, undefined, JSON.stringify(r.error));
    return r.result;
  };
  for (const kid of [1n, 2n]) await reply('addReceiverKey', { kid, suite: 4, baseKey: key(Number(kid)) });
  const camera = new api.MediaSender(4, 1n, key(1));
  const screen = new api.MediaSender(4, 2n, key(2));
  const cam = (kind, codec) => encodedFrame(camera.encryptFrame(codec, payload(50, 1)), { kind });
  const scr = () => encodedFrame(screen.encryptFrame('video/VP8', payload(50, 2)));

  const cameraTrack = core.transform({ side: 'receive', kind: 'video', kids: [1n] });
  const micTrack = core.transform({ side: 'receive', kind: 'audio', kids: [1n] });
  const anyVideo = core.transform({ side: 'receive' });
  // The camera's track takes the camera's video, not the screen's frames
  // nor the camera owner's audio.
  assert.equal(run(cameraTrack, [cam('video', 'video/VP8')]).length, 1);
  assert.equal(run(cameraTrack, [scr(), scr()]).length, 0);
  assert.equal(run(cameraTrack, [cam('video', 'audio/opus')]).length, 0);
  // The microphone's track takes audio only.
  assert.equal(run(micTrack, [cam('audio', 'audio/opus')]).length, 1);
  assert.equal(run(micTrack, [cam('audio', 'video/VP8')]).length, 0);
  // Without `kids`, any key of the worker, still of the frame's own kind.
  assert.equal(run(anyVideo, [scr()]).length, 1);
  assert.equal(run(anyVideo, [encodedFrame(camera.encryptFrame('audio/opus', payload(9, 1)), { kind: 'video' })]).length, 0);

  const { stats } = await reply('stats', {});
  assert.equal(stats.misrouted, 5);
  assert.deepEqual(stats.misroutedByKind, { audio: 1, video: 4 });
  assert.equal(stats.decrypted, 3);
  assert.equal(stats.decryptFailures, 0);
  camera.free();
  screen.free();
});

test('unknown and inherited operation names get an error reply', async () => {
  const core = createTransformCore(api);
  for (const op of ['constructor', '__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'nope', undefined, 42]) {
    const reply = await core.handle({ id: 7, op });
    assert.equal(reply.id, 7);
    assert.equal(reply.result, undefined, String(op));
    assert.equal(reply.error.code, 'invalid-argument', String(op));
  }
  assert.equal((await core.handle(null)).error.code, 'invalid-argument');
  const { result } = await core.handle({ id: 8, op: 'stats' });
  assert.equal(result.stats.rejectedOps, 9);
});

test('a failed attach is never reported as protected', async () => {
  const worker = inProcessWorker();
  const streams = new E2eeWorker({ worker, mode: 'encoded-streams' });
  // createEncodedStreams() throws (no encodedInsertableStreams): refused
  // every time, never protected.
  let calls = 0;
  const broken = {
    createEncodedStreams() {
      calls += 1;
      throw new Error('Too late to create encoded streams');
    },
  };
  await assert.rejects(streams.protectSender(broken), /createEncodedStreams failed/);
  assert.equal(streams.isProtected(broken), false);
  await assert.rejects(streams.protectSender(broken));
  assert.equal(streams.isProtected(broken), false);
  assert.equal(calls, 2);

  // The worker refusing the streams: not protected either.
  const refusing = inProcessWorker();
  refusing.core.handle = async ({ id }) => ({ id, error: { code: 'internal', message: 'no' } });
  const refused = new E2eeWorker({ worker: refusing, mode: 'encoded-streams' });
  const { readable, writable } = new TransformStream();
  const target = { createEncodedStreams: () => ({ readable, writable }) };
  await assert.rejects(refused.protectSender(target), /no/);
  assert.equal(refused.isProtected(target), false);

  // Working: protected once, and two calls at once share one attempt.
  let made = 0;
  const good = {
    createEncodedStreams() {
      made += 1;
      return new TransformStream();
    },
  };
  await Promise.all([streams.protectSender(good), streams.protectSender(good)]);
  assert.equal(streams.isProtected(good), true);
  assert.equal(made, 1);
  await streams.protectSender(good);
  assert.equal(made, 1);
});

test('script transform: protected only once the worker confirms; a silent worker times out and is detached', async (t) => {
  const made = [];
  globalThis.RTCRtpScriptTransform = class {
    constructor(worker, options) {
      this.options = options;
      made.push(this);
    }
  };
  t.after(() => {
    delete globalThis.RTCRtpScriptTransform;
  });
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'script-transform', attachTimeoutMs: 200 });
  const silent = { transform: null };
  await assert.rejects(e2ee.protectSender(silent), /did not confirm/);
  assert.equal(e2ee.isProtected(silent), false);
  assert.equal(silent.transform, made.at(-1), 'the unconfirmed transform stays (never null: that would send in clear)');

  const confirmed = { transform: null };
  const attaching = e2ee.protectReceiver(confirmed, { kids: [3], kind: 'video' });
  const options = made.at(-1).options;
  assert.deepEqual([options.side, options.kind, options.kids], ['receive', 'video', [3n]]);
  assert.equal(e2ee.isProtected(confirmed), false, 'not before the worker confirms');
  worker.emit({ attached: options.token });
  await attaching;
  assert.equal(e2ee.isProtected(confirmed), true);

  // A worker that failed to load reports it: refused.
  const failing = { transform: null };
  const attempt = e2ee.protectSender(failing);
  worker.emit({ attached: made.at(-1).options.token, error: { code: 'internal', message: 'callseal did not load' } });
  await assert.rejects(attempt, /did not load/);
  assert.equal(e2ee.isProtected(failing), false);
});

test('a protected target keeps its options; another protect call with other options is refused; terminate unprotects', async () => {
  const worker = inProcessWorker();
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const receiver = { createEncodedStreams: () => new TransformStream(), track: { kind: 'video' } };
  await e2ee.protectReceiver(receiver, { kids: [1n, 2n] });
  assert.equal(e2ee.isProtected(receiver), true);
  // The same options (in another order): fine, nothing new attached.
  await e2ee.protectReceiver(receiver, { kids: [2, 1] });
  await assert.rejects(e2ee.protectReceiver(receiver, { kids: [7n] }), (err) => err.code === 'invalid-argument');
  // No options (an `ontrack` handler, say): it is protected already.
  await e2ee.protectReceiver(receiver);
  e2ee.terminate();
  assert.equal(e2ee.isProtected(receiver), false);
});

test('calls under a signed policy: decided in the worker, a downgrade reported, requireE2ee refuses it', async () => {
  const { signPolicy, tenantKey } = await import('../signed-policy.mjs');
  const doc = (bobOn) => JSON.stringify({
    version: 1,
    policies: [{
      Identity: 'Global',
      CallingEndtoEndEncryptionEnabledType: 'DisabledUserOverride',
      MeetingEndToEndEncryption: 'Disabled',
      Description: '',
    }],
    users: { alice: { e2ee_calls: true }, bob: { e2ee_calls: bobOn } },
  });
  const policy = (bobOn, serial = 1, lastSeenSerial = 0) => ({ signed: signPolicy(doc(bobOn), serial), tenantKey, lastSeenSerial });
  const alice = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  const bob = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });

  // Both turned E2EE calls on: the call runs, and each side learns the serial.
  const start = await alice.startCall({ uid: 'alice', peerUid: 'bob', policy: policy(true, 4) });
  assert.equal(start.policySerial, 4);
  assert.ok(start.message instanceof Uint8Array);
  const answer = await bob.answerCall({ uid: 'bob', commit: start.message, expectedPeerUid: 'alice', policy: policy(true, 4) });
  const reveal = await alice.handleSignal(answer.message);
  const confirm = await bob.handleSignal(reveal.message);
  const done = await alice.handleSignal(confirm.message);
  assert.equal(done.status.state, 'encrypted');
  assert.equal(done.status.securityCode, confirm.status.securityCode);

  // Bob's setting off: no call, the reason instead; requireE2ee refuses.
  const plain = await alice.startCall({ uid: 'alice', peerUid: 'bob', policy: policy(false, 5) });
  assert.deepEqual(plain, { message: null, status: null, notEndToEndEncrypted: 'user-setting-off', policySerial: 5 });
  await assert.rejects(alice.startCall({ uid: 'alice', peerUid: 'bob', policy: policy(false, 5), requireE2ee: true }), { code: 'policy-forbids' });
  // Bob, whose verified policy says no, does not answer an E2EE call either.
  const again = await alice.startCall({ uid: 'alice', peerUid: 'bob', policy: policy(true, 6) });
  await assert.rejects(
    bob.answerCall({ uid: 'bob', commit: again.message, expectedPeerUid: 'alice', policy: policy(false, 5) }),
    { code: 'policy-forbids' },
  );
  await assert.rejects(bob.answerCall({ uid: 'bob', commit: again.message, policy: policy(true, 6) }), { code: 'invalid-argument' });

  // What the server may try: an older document, a changed one, another tenant's.
  await assert.rejects(alice.startCall({ uid: 'alice', peerUid: 'bob', policy: policy(false, 3, 4) }), { code: 'replay' });
  const changed = policy(true, 7);
  changed.signed = changed.signed.slice();
  const at = new TextDecoder().decode(changed.signed).indexOf('"payload": "') + 30;
  changed.signed[at] = changed.signed[at] === 0x41 ? 0x42 : 0x41;
  await assert.rejects(alice.startCall({ uid: 'alice', peerUid: 'bob', policy: changed }), { code: 'authentication-failed' });
  const other = { ...policy(true, 8), tenantKey: api.PolicySigningKey.generate().tenantKey() };
  await assert.rejects(alice.startCall({ uid: 'alice', peerUid: 'bob', policy: other }), { code: 'wrong-peer' });
});
