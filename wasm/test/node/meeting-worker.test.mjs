// Meetings in the transform worker, in Node, on the real WebAssembly: each
// member's meeting worker (meeting-core.js over the `callseal/meetings`
// entry, behind the page's E2eeWorker, through the in-process stand-in for
// the Worker), with this file as the server that orders commits and
// carries key packages and Welcomes. Every frame goes through the members'
// transforms (as WebRTC's would) or `seal`/`open`.
import { test } from 'node:test';
import assert from 'node:assert/strict';

import { CallsealError } from '../../pkg/node.js';
import { E2eeWorker } from '../../pkg/webrtc.js';
import { signPolicy, tenantKey } from '../signed-policy.mjs';

import { encodedFrame, inProcessWorker, payload, run } from './worker-harness.mjs';

const policyDocument = JSON.stringify({
  version: 1,
  policies: [{
    Identity: 'Global',
    CallingEndtoEndEncryptionEnabledType: 'Disabled',
    MeetingEndToEndEncryption: 'DisabledUserOverride',
    Description: '',
  }],
});
const policy = () => ({ signed: signPolicy(policyDocument, 7), tenantKey, lastSeenSerial: 0 });

const CODE = /^\d{5} \d{5} \d{5} \d{5}$/;
const EVENTS = ['meeting-epoch', 'roster', 'member-store', 'meeting-ended', 'decrypt-failed', 'missing-key'];

// The meeting's clock, shared by every worker (milliseconds).
let clock = 1_000_000;
const now = () => clock;

/** A member: its meeting worker, the page's E2eeWorker, its events, one sending and one receiving transform. */
function member(user, platform = 'desktop-mac') {
  const worker = inProcessWorker({ now, meetings: true });
  const e2ee = new E2eeWorker({ worker, mode: 'encoded-streams' });
  const events = [];
  for (const type of EVENTS) e2ee.addEventListener(type, (e) => events.push({ type, detail: e.detail }));
  return {
    user,
    platform,
    e2ee,
    worker,
    events,
    send: worker.core.transform({ side: 'send' }),
    receive: worker.core.transform({ side: 'receive', kind: 'video' }),
    // Events of `type` since the last call with the same type.
    seen: new Map(),
    take(type) {
      const all = events.filter((e) => e.type === type);
      const from = this.seen.get(type) ?? 0;
      this.seen.set(type, all.length);
      return all.slice(from).map((e) => e.detail);
    },
  };
}

// Events are posted asynchronously (as a real worker's): let them arrive.
const settle = () => new Promise((resolve) => setImmediate(resolve));

/** One VP8 frame through `from`'s sending transform: the protected bytes. */
function sendFrame(from, fill) {
  const out = run(from.send, [encodedFrame(payload(60, fill))]);
  assert.equal(out.length, 1, `${from.user} encrypted a frame`);
  return new Uint8Array(out[0].data);
}

/** What `to`'s receiving transform makes of `bytes`: the payload, or null if dropped. */
function receiveFrame(to, bytes) {
  const out = run(to.receive, [encodedFrame(bytes)]);
  return out.length === 1 ? new Uint8Array(out[0].data) : null;
}

/** Every member's transform frames decrypt at every other member. */
function everyoneHearsEveryone(members, fill) {
  for (const from of members) {
    const bytes = sendFrame(from, fill);
    assert.ok(bytes.length > 60 && bytes.subarray(10, 60).some((b) => b !== fill), 'the frame is encrypted');
    for (const to of members) {
      if (to === from) continue;
      assert.deepEqual(receiveFrame(to, bytes), payload(60, fill), `${from.user} → ${to.user}`);
    }
  }
}

async function statusOf(m) {
  return (await m.e2ee.meetingStatus()).status;
}

/** Every member shows the same epoch and code; returns them. */
async function sameEpoch(members, epoch) {
  const all = await Promise.all(members.map(statusOf));
  for (const s of all) assert.equal(s.epoch, epoch);
  assert.match(all[0].code, CODE);
  assert.deepEqual(new Set(all.map((s) => s.code)).size, 1, JSON.stringify(all.map((s) => s.code)));
  return all[0].code;
}

/** `committer`'s commit, ordered first by the server: applied everywhere else. */
async function commitEverywhere(committer, messages, others) {
  const { change } = await committer.e2ee.commitAccepted();
  for (const m of others) await m.e2ee.handleCommit(messages.commit);
  return change;
}

async function rejects(promise, code) {
  await assert.rejects(promise, (err) => {
    assert.ok(err instanceof CallsealError, `a CallsealError: ${err}`);
    assert.equal(err.code, code, err.message);
    return true;
  });
}

test('a meeting of workers: three members, one removed, a fourth joins; frames, codes, events, grace', async () => {
  const olga = member('olga');
  const pete = member('pete', 'android');
  const quinn = member('quinn', 'ios');

  // The organizer creates the meeting under the signed policy.
  const created = await olga.e2ee.createMeeting({ user: 'olga', platform: 'desktop-mac', policy: policy() });
  assert.equal(created.policySerial, 7);
  assert.equal(created.status.epoch, 0n);
  assert.equal(created.status.role, 'organizer');
  await settle();
  assert.deepEqual(olga.take('meeting-epoch'), [{ epoch: 0n, code: created.status.code, added: [], removed: [] }]);

  // Pete and Quinn publish key packages; Olga adds both in one commit.
  const packages = [];
  for (const m of [pete, quinn]) {
    const { keyPackage, signatureKey } = await m.e2ee.meetingKeyPackage({ user: m.user, platform: m.platform });
    assert.ok(keyPackage instanceof Uint8Array && keyPackage.length > 100);
    assert.equal(signatureKey.length, 32);
    packages.push(keyPackage);
  }
  const added = await olga.e2ee.addMembers(packages);
  assert.ok(added.commit instanceof Uint8Array && added.welcome instanceof Uint8Array);
  assert.deepEqual(added.refused, []);
  const first = await commitEverywhere(olga, added, []);
  assert.equal(first.epoch, 1n);
  assert.deepEqual(first.added, ['pete', 'quinn']);
  for (const m of [pete, quinn]) {
    const joined = await m.e2ee.joinMeeting({ welcome: added.welcome, policy: policy() });
    assert.equal(joined.status.epoch, 1n);
    assert.equal(joined.status.role, 'participant');
  }
  let everyone = [olga, pete, quinn];
  const code1 = await sameEpoch(everyone, 1n);
  assert.notEqual(code1, created.status.code);
  everyoneHearsEveryone(everyone, 1);

  // Events: each member heard of epoch 1 with its code, and got a roster.
  await settle();
  for (const m of everyone) {
    const epochs = m.take('meeting-epoch');
    assert.deepEqual(epochs.map((e) => [e.epoch, e.code]), [[1n, code1]], m.user);
    const [roster] = m.take('roster').slice(-1);
    assert.deepEqual(roster.roster.map((e) => e.member.user), ['olga', 'pete', 'quinn'], m.user);
    for (const e of roster.roster) {
      assert.equal(e.status, e.member.user === m.user ? 'known-verified' : 'new', `${m.user} sees ${e.member.user}`);
    }
  }
  // The worker's member store recorded the keys: a member-store event to persist.
  const [saved] = olga.take('member-store').slice(-1);
  assert.deepEqual(Object.keys(JSON.parse(saved.store)).sort(), ['pete', 'quinn']);

  // seal/open (frames the app moves itself) use the meeting's keys too, and
  // name the sender's leaf index.
  const { frame: sealed } = await pete.e2ee.seal({ codec: 'audio/opus', payload: new Uint8Array([0x78, 9, 9, 9]) });
  const opened = await quinn.e2ee.open({ frame: sealed, kind: 'audio' });
  assert.equal(opened.codec, 'Opus');
  assert.equal(opened.sender, 1);
  assert.equal(opened.kid, 1n);
  assert.deepEqual(Array.from(opened.payload), [0x78, 9, 9, 9]);
  // A repeat is a replay, as with a call's receiver.
  await rejects(quinn.e2ee.open({ frame: sealed, kind: 'audio' }), 'replay');

  // A bad commit is a coded error and changes nothing.
  await rejects(pete.e2ee.handleCommit(new Uint8Array([1, 2, 3, 4])), 'malformed');
  await rejects(pete.e2ee.handleCommit(added.commit.subarray(0, 40)), 'malformed');
  await rejects(pete.e2ee.handleCommit('not bytes'), 'invalid-argument');
  assert.equal((await statusOf(pete)).code, code1);

  // Two commits in one epoch: the server orders Pete's self-update first;
  // Olga's loses, she takes Pete's and commits again in the new epoch.
  const petes = await pete.e2ee.selfUpdate();
  const olgas = await olga.e2ee.selfUpdate();
  await pete.e2ee.commitAccepted();
  await olga.e2ee.commitRejected();
  const [taken] = (await olga.e2ee.handleCommit(petes.commit)).changes;
  assert.equal(taken.selfUpdate, true);
  await quinn.e2ee.handleCommit(petes.commit);
  // Olga's rejected commit does not apply anywhere now.
  await assert.rejects(quinn.e2ee.handleCommit(olgas.commit), CallsealError);
  const code2 = await sameEpoch(everyone, 2n);
  everyoneHearsEveryone(everyone, 2);
  const again = await olga.e2ee.selfUpdate();
  await commitEverywhere(olga, again, [pete, quinn]);
  const code3 = await sameEpoch(everyone, 3n);
  assert.notEqual(code3, code2);
  everyoneHearsEveryone(everyone, 3);
  assert.equal((await olga.e2ee.stats()).meeting.commitsRejected, 1);

  // Frames sent in epoch 3, delivered only after the next change.
  const lateFromPete = [sendFrame(pete, 31), sendFrame(pete, 32)];

  // Olga removes Quinn; Quinn handles the commit too: meeting-ended.
  const removal = await olga.e2ee.removeMembers(['quinn']);
  assert.equal(removal.welcome, null);
  await commitEverywhere(olga, removal, [pete, quinn]);
  await settle();
  assert.deepEqual(quinn.take('meeting-ended'), [{ reason: 'removed', epoch: 3n }]);
  assert.equal((await statusOf(quinn)).removed, true);
  assert.ok(!quinn.take('meeting-epoch').some((e) => e.epoch === 4n), 'no new epoch for the removed member');
  everyone = [olga, pete];
  const code4 = await sameEpoch(everyone, 4n);
  everyoneHearsEveryone(everyone, 4);
  for (const m of everyone) {
    const [epoch] = m.take('meeting-epoch').slice(-1);
    assert.deepEqual(epoch, { epoch: 4n, code: code4, added: [], removed: [2] });
    const [roster] = m.take('roster').slice(-1);
    assert.deepEqual(roster.roster.map((e) => e.member.user), ['olga', 'pete']);
  }
  // The removed member decrypts no new frame, and sends none.
  const quinnBefore = await quinn.e2ee.stats();
  assert.equal(receiveFrame(quinn, sendFrame(olga, 41)), null);
  assert.equal(receiveFrame(quinn, sendFrame(pete, 42)), null);
  const quinnAfter = await quinn.e2ee.stats();
  assert.equal(quinnAfter.decryptFailures - quinnBefore.decryptFailures, 2);
  assert.equal(quinnAfter.failuresByCode['unknown-key-id'], 2);
  assert.equal(run(quinn.send, [encodedFrame(payload(60, 43))]).length, 0, 'nothing leaves the removed member');
  assert.equal((await quinn.e2ee.stats()).encryptFailures, 1);
  await rejects(quinn.e2ee.selfUpdate(), 'protocol-violation');

  // The frame from the epoch just left still decrypts within the grace time (10 s)...
  clock += 9_000;
  assert.deepEqual(receiveFrame(olga, lateFromPete[0]), payload(60, 31));
  // ...and no longer once it is over.
  clock += 2_000;
  const olgaBefore = await olga.e2ee.stats();
  assert.equal(receiveFrame(olga, lateFromPete[1]), null);
  const olgaAfter = await olga.e2ee.stats();
  assert.equal(olgaAfter.decryptFailures - olgaBefore.decryptFailures, 1);
  assert.equal(olgaAfter.failuresByCode['unknown-key-id'], 1);

  // Rita joins: a key package, Olga's commit, the Welcome.
  const rita = member('rita', 'desktop-windows');
  const { keyPackage } = await rita.e2ee.meetingKeyPackage({ user: 'rita', platform: 'desktop-windows' });
  const join = await olga.e2ee.changeMembership({ add: [keyPackage] });
  await commitEverywhere(olga, join, [pete]);
  await rita.e2ee.joinMeeting({ welcome: join.welcome, policy: policy() });
  everyone = [olga, pete, rita];
  const code5 = await sameEpoch(everyone, 5n);
  assert.equal(new Set([code1, code2, code3, code4, code5]).size, 5, 'a new code every epoch');
  everyoneHearsEveryone(everyone, 5);
  await settle();
  for (const m of everyone) {
    const [epoch] = m.take('meeting-epoch').slice(-1);
    assert.equal(epoch.epoch, 5n);
    assert.equal(epoch.code, code5);
    const [roster] = m.take('roster').slice(-1);
    assert.deepEqual(roster.roster.map((e) => e.member.user), ['olga', 'pete', 'rita'], m.user);
  }
  // Quinn's leaf was freed and Rita took it.
  assert.equal((await olga.e2ee.meetingRoster()).find((e) => e.member.user === 'rita').member.index, 2);
  // The removed member decrypts none of the new epoch either.
  assert.equal(receiveFrame(quinn, sendFrame(rita, 51)), null);

  // Comparing codes: Olga marks this epoch's code; an older one is refused.
  await rejects(olga.e2ee.markCodeVerified(code4), 'invalid-argument');
  const verified = await olga.e2ee.markCodeVerified(code5);
  assert.ok(verified.every((e) => e.status === 'known-verified'), JSON.stringify(verified.map((e) => e.status)));
  const store = await olga.e2ee.exportMemberStore();
  assert.ok(JSON.parse(store).rita.every((k) => k.verified));
  // A saved store in another worker: the same members known-verified.
  await pete.e2ee.useMemberStore(store);
  await rejects(pete.e2ee.useMemberStore('{'), 'storage');

  // No transform failed anywhere but where asserted above.
  for (const m of everyone) {
    const s = await m.e2ee.stats();
    assert.equal(s.encryptFailures, 0, m.user);
    assert.equal(s.decryptFailures, m === olga ? 1 : 0, `${m.user}: ${JSON.stringify(s.failuresByCode)}`);
    assert.equal(s.held, 0);
  }

  // Rita leaves on her own: her keys are gone at once, frames no longer go out.
  assert.deepEqual(await rita.e2ee.leaveMeeting(), { left: true });
  await settle();
  assert.deepEqual(rita.take('meeting-ended'), [{ reason: 'left', epoch: 5n }]);
  assert.equal(run(rita.send, [encodedFrame(payload(60, 61))]).length, 0);
  assert.equal((await rita.e2ee.stats()).droppedWithoutKey, 1);
  await rejects(rita.e2ee.meetingRoster(), 'protocol-violation');
  assert.deepEqual(await rita.e2ee.leaveMeeting(), { left: false });
});

test('a frame of an epoch not reached yet is held, not a failure', async () => {
  const olga = member('olga');
  const pete = member('pete', 'android');
  await olga.e2ee.createMeeting({ user: 'olga', platform: 'desktop-mac', policy: policy() });
  const { keyPackage } = await pete.e2ee.meetingKeyPackage({ user: 'pete', platform: 'android' });
  const added = await olga.e2ee.addMembers([keyPackage]);
  await olga.e2ee.commitAccepted();
  await pete.e2ee.joinMeeting({ welcome: added.welcome, policy: policy() });
  // Olga moves on first; her next frame reaches Pete before her commit.
  const update = await olga.e2ee.selfUpdate();
  await olga.e2ee.commitAccepted();
  const early = sendFrame(olga, 7);
  assert.equal(receiveFrame(pete, early), null);
  let stats = await pete.e2ee.stats();
  assert.equal(stats.held, 1);
  assert.equal(stats.decryptFailures, 0);
  // The commit releases it (already dropped by the transform: counted).
  const { changes } = await pete.e2ee.handleCommit(update.commit);
  assert.equal(changes.length, 1);
  assert.equal('released' in changes[0], false);
  stats = await pete.e2ee.stats();
  assert.equal(stats.meeting.released, 1);
  assert.deepEqual(receiveFrame(pete, sendFrame(olga, 8)), payload(60, 8));
  // open answers `held` the same way.
  const next = await olga.e2ee.selfUpdate();
  await olga.e2ee.commitAccepted();
  const { frame } = await olga.e2ee.seal({ codec: 'video/VP8', payload: payload(30, 3) });
  assert.deepEqual(await pete.e2ee.open({ frame }), { held: true, codec: null, kid: null, counter: null, payload: null });
  await pete.e2ee.handleCommit(next.commit);
});

test('meeting operations: refused without a meeting, on a worker without meetings, and under a refusing policy', async () => {
  // The calls-only worker has no meeting operations.
  const plain = new E2eeWorker({ worker: inProcessWorker(), mode: 'encoded-streams' });
  await rejects(plain.createMeeting({ user: 'olga', platform: 'desktop-mac', policy: policy() }), 'invalid-argument');
  await rejects(plain.meetingStatus(), 'invalid-argument');

  const m = member('olga');
  await rejects(m.e2ee.handleCommit(new Uint8Array(8)), 'protocol-violation');
  await rejects(m.e2ee.commitAccepted(), 'protocol-violation');
  await rejects(m.e2ee.joinMeeting({ welcome: new Uint8Array(8), policy: policy() }), 'protocol-violation');
  assert.deepEqual(await m.e2ee.meetingStatus(), { status: null, updateDue: false });
  // Without a meeting (or call, or key) nothing is sealed, in clear or otherwise.
  await rejects(m.e2ee.seal({ codec: 'video/VP8', payload: payload(30, 1) }), 'protocol-violation');

  // A policy signed by someone else, and one that keeps meetings plain.
  await rejects(m.e2ee.createMeeting({ user: 'olga', platform: 'desktop-mac', policy: { ...policy(), tenantKey: new Uint8Array(32).fill(1) } }), 'wrong-peer');
  const plainMeetings = JSON.stringify({
    version: 1,
    policies: [{ Identity: 'Global', CallingEndtoEndEncryptionEnabledType: 'Disabled', MeetingEndToEndEncryption: 'Disabled', Description: '' }],
  });
  await rejects(
    m.e2ee.createMeeting({ user: 'olga', platform: 'desktop-mac', policy: { signed: signPolicy(plainMeetings, 8), tenantKey, lastSeenSerial: 0 } }),
    'policy-forbids',
  );
  await rejects(m.e2ee.createMeeting({ user: 'olga', platform: 'desktop-mac' }), 'invalid-argument');
  // The policy refuses a joiner on the web: not in the commit.
  await m.e2ee.createMeeting({ user: 'olga', platform: 'desktop-mac', policy: policy() });
  const web = member('walt', 'web');
  const { keyPackage } = await web.e2ee.meetingKeyPackage({ user: 'walt', platform: 'web' });
  await rejects(m.e2ee.changeMembership({ add: [keyPackage] }), 'policy-forbids');
  const sam = member('sam', 'ios');
  const { keyPackage: samsPackage } = await sam.e2ee.meetingKeyPackage({ user: 'sam', platform: 'ios' });
  const batch = await m.e2ee.changeMembership({ add: [keyPackage, samsPackage] });
  assert.deepEqual(batch.refused, [{ user: 'walt', reason: 'unsupported-platform' }]);
  assert.ok(batch.welcome instanceof Uint8Array);
  await m.e2ee.commitAccepted();
  await sam.e2ee.joinMeeting({ welcome: batch.welcome, policy: policy() });
  assert.deepEqual((await sam.e2ee.meetingRoster()).map((e) => e.member.user), ['olga', 'sam']);
});
