// Meetings' roles, self-updates and identity statuses through the built
// package (PROTOCOL.md §4.2, §4.7–§4.9).
import { test } from 'node:test';
import * as api from '../../pkg/meetings-node.js';
import assert from 'node:assert/strict';

import {
  MeetingClient,
  MeetingSession,
  MemberKeyStore,
} from '../../pkg/meetings-node.js';
import { assertCamelCase } from '../camel-case.mjs';
import { errorCode } from '../error-code.mjs';
import { verifiedPolicy } from '../signed-policy.mjs';

const policy = JSON.stringify({
  version: 1,
  policies: [{
    Identity: 'Global',
    CallingEndtoEndEncryptionEnabledType: 'Disabled',
    MeetingEndToEndEncryption: 'DisabledUserOverride',
    Description: '',
  }],
});


test('co-organizers add members, participants cannot; self-updates and hand-over', () => {
  const doc = verifiedPolicy(api, policy);
  const olga = MeetingSession.create(new MeetingClient('olga', 'desktop-mac'), doc, 4, 0);
  assert.equal(olga.role, 'organizer');
  assert.equal(olga.organizer, 0);
  // One commit and one Welcome for two joiners; the policy refuses the third.
  const peteClient = new MeetingClient('pete', 'android');
  const quinnClient = new MeetingClient('quinn', 'ios');
  const batch = olga.changeMembership(
    [peteClient.keyPackage(), quinnClient.keyPackage(), new MeetingClient('walt', 'web').keyPackage()],
    [],
  );
  assert.deepEqual(batch.refused, [{ user: 'walt', reason: 'unsupported-platform' }]);
  assert.deepEqual(Object.keys(batch), ['messages', 'refused']);
  assert.equal(assertCamelCase(batch), 6);
  assert.ok(batch.messages.commit instanceof Uint8Array);
  olga.commitAccepted(0);
  const pete = MeetingSession.join(peteClient, batch.messages.welcome, doc, 0);
  const quinn = MeetingSession.join(quinnClient, batch.messages.welcome, doc, 0);
  const everyone = [olga, pete, quinn];
  // Roles go to one device: its leaf index, as members() shows it.
  const leaf = (user) => olga.members().find((m) => m.user === user).index;
  const peteIndex = leaf('pete');
  const quinnIndex = leaf('quinn');

  // The organizer promotes Pete; every member sees the new roles.
  const promotion = olga.promote(peteIndex);
  assert.equal(olga.commitAccepted(1).rolesChanged, true);
  for (const s of [pete, quinn]) {
    const [change] = s.handleCommit(promotion.commit, 1);
    assert.equal(change.rolesChanged, true);
    assert.equal(change.committer, 0);
    assert.equal(change.selfUpdate, false);
    assert.equal(change.ownCommitDiscarded, false);
  }
  assert.equal(pete.role, 'co-organizer');
  assert.equal(quinn.role, 'participant');
  assert.equal(quinn.organizer, 0);
  assert.deepEqual(quinn.members().map((m) => m.role), ['organizer', 'co-organizer', 'participant']);
  assert.deepEqual(quinn.members()[1].signatureKey, peteClient.signatureKey());
  assert.equal(peteClient.signatureKey().length, 32);

  // The co-organizer adds Rita; everyone accepts its commit and its Welcome.
  const ritaClient = new MeetingClient('rita', 'desktop-windows');
  const added = pete.add(ritaClient.keyPackage());
  pete.commitAccepted(2);
  olga.handleCommit(added.commit, 2);
  quinn.handleCommit(added.commit, 2);
  everyone.push(MeetingSession.join(ritaClient, added.welcome, doc, 2));
  assert.equal(new Set(everyone.map((s) => s.code)).size, 1);
  assert.deepEqual(olga.members().map((m) => m.user), ['olga', 'pete', 'quinn', 'rita']);

  // A participant's add, and a co-organizer's roles change, are refused.
  assert.equal(errorCode(() => quinn.add(new MeetingClient('sam', 'ios').keyPackage())), 'protocol-violation');
  assert.equal(errorCode(() => pete.promote(quinnIndex)), 'protocol-violation');
  assert.equal(errorCode(() => pete.demote(peteIndex)), 'protocol-violation');
  assert.equal(errorCode(() => olga.changeMembership([new Uint8Array(3), 'x'], [])), 'invalid-argument');
  assert.equal(errorCode(() => olga.changeMembership([], 'quinn')), 'invalid-argument');
  assert.equal(errorCode(() => olga.promote(99)), 'invalid-argument');
  assert.equal(errorCode(() => olga.handOver(quinnIndex)), 'protocol-violation'); // not a co-organizer

  // Quinn, a participant, updates its own leaf when due.
  assert.equal(quinn.updateDue(2), false);
  assert.equal(quinn.updateDue(3_600_000), true); // an hour: past the 15 minutes and any per-member spread
  const index = quinn.members().find((m) => m.user === 'quinn').index;
  const leafBefore = olga.leafKey(index);
  assert.equal(olga.leafKey(99), null);
  const update = quinn.selfUpdate();
  assert.equal(quinn.commitAccepted(3).selfUpdate, true);
  for (const s of everyone.filter((s) => s !== quinn)) {
    const [change] = s.handleCommit(update.commit, 3);
    assert.equal(change.selfUpdate, true);
    assert.equal(change.committer, index);
  }
  assert.notDeepEqual(olga.leafKey(index), leafBefore);
  assert.equal(new Set(everyone.map((s) => s.code)).size, 1);

  // Commits caught up in a batch; one for an epoch already reached is skipped.
  const late = olga.selfUpdate();
  olga.commitAccepted(4);
  const caught = quinn.catchUp([update.commit, late.commit], 4);
  assert.equal(caught.length, 1);
  assert.equal(quinn.missingCommitsFrom, null);
  for (const s of [pete, everyone[3]]) s.handleCommit(late.commit, 4);

  // The organizer hands over to Pete.
  const handOver = olga.handOver(peteIndex);
  assert.equal(olga.commitAccepted(5).organizerChanged, true);
  for (const s of everyone.slice(1)) {
    assert.equal(s.handleCommit(handOver.commit, 5)[0].organizerChanged, true);
  }
  assert.equal(pete.role, 'organizer');
  assert.equal(olga.role, 'co-organizer');
  const frame = pete.encrypt('Opus', new Uint8Array([0x78, 1, 2]));
  assert.deepEqual(Array.from(quinn.decrypt(frame, 6).payload), [0x78, 1, 2]);
  for (const s of everyone) s.free();
  doc.free();
});

test('the roster shows identity statuses; a second device is flagged', () => {
  const doc = verifiedPolicy(api, policy);
  const olgaClient = new MeetingClient('olga', 'desktop-mac');
  const bobLaptop = new MeetingClient('bob', 'desktop-mac');
  const store = new MemberKeyStore();
  const olga = MeetingSession.create(olgaClient, doc, 4, 0);
  const added = olga.add(bobLaptop.keyPackage());
  olga.commitAccepted(0);
  const bob = MeetingSession.join(bobLaptop, added.welcome, doc, 0);
  // A Welcome joins once.
  assert.equal(errorCode(() => MeetingSession.join(bobLaptop, added.welcome, doc, 0)), 'protocol-violation');

  const status = (roster, platform) =>
    roster.find((e) => e.member.user === 'bob' && e.member.platform === platform).status;

  assert.equal(status(olga.roster(), 'desktop-mac'), 'unchecked');
  const roster = olga.checkIdentities(store);
  assert.ok(assertCamelCase(roster) > 0);
  assert.deepEqual(Object.keys(roster[0]), ['member', 'status']);
  assert.deepEqual(Object.keys(roster[0].member), ['index', 'user', 'platform', 'signatureKey', 'role']);
  assert.equal(status(roster, 'desktop-mac'), 'new');
  assert.equal(roster.find((e) => e.member.user === 'olga').status, 'known-verified');
  // The users compare the meeting code the app shows.
  assert.equal(errorCode(() => olga.markCodeVerified(store, '1234')), 'invalid-argument');
  olga.markCodeVerified(store, olga.code);
  assert.equal(status(olga.roster(), 'desktop-mac'), 'known-verified');

  // The app persists the store; the next meeting knows Bob's laptop.
  const json = store.toJson();
  assert.deepEqual(Object.keys(JSON.parse(json)), ['bob']);
  const saved = MemberKeyStore.fromJson(json);
  const next = MeetingSession.create(olgaClient, doc, 4, 10);
  next.add(bobLaptop.keyPackage());
  next.commitAccepted(10);
  assert.equal(status(next.checkIdentities(saved), 'desktop-mac'), 'known-verified');
  // A second device of Bob's (or one the server slipped in) is flagged.
  const codeBefore = next.code;
  const bobPhone = new MeetingClient('bob', 'android');
  next.add(bobPhone.keyPackage());
  next.commitAccepted(11);
  const flagged = next.checkIdentities(saved);
  assert.equal(status(flagged, 'android'), 'changed');
  assert.equal(status(flagged, 'desktop-mac'), 'known-verified');
  assert.deepEqual(flagged.find((e) => e.member.platform === 'android').member.signatureKey, bobPhone.signatureKey());
  assert.notEqual(saved.toJson(), json);
  // Checking again does not launder the flag, and neither does comparing codes:
  // equal codes show everyone sees the same roster, not who holds that key.
  assert.equal(status(next.checkIdentities(saved), 'android'), 'changed');
  // A code from before the commit is refused: the users compared another roster.
  assert.equal(errorCode(() => next.markCodeVerified(saved, codeBefore)), 'invalid-argument');
  next.markCodeVerified(saved, next.code);
  assert.equal(status(next.roster(), 'android'), 'changed');
  assert.equal(status(next.roster(), 'desktop-mac'), 'known-verified');
  // Bob confirms his phone out of band: that device becomes verified.
  const ghost = next.roster().find((e) => e.member.user === 'bob' && e.member.platform === 'android').member.index;
  assert.equal(errorCode(() => next.verifyMember(saved, 99)), 'invalid-argument');
  next.verifyMember(saved, ghost);
  assert.equal(status(next.roster(), 'android'), 'known-verified');
  assert.ok(next.roster().every((e) => e.status === 'known-verified'));
  assert.ok(JSON.parse(saved.toJson()).bob.every((k) => k.verified));

  assert.equal(errorCode(() => MemberKeyStore.fromJson('[')), 'storage');
  for (const o of [olga, bob, next, store, saved, doc]) o.free();
});
