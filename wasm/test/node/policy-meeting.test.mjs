// Policy decisions, feature gating and meetings through the built package.
import { test } from 'node:test';
import * as api from '../../pkg/meetings-node.js';
import assert from 'node:assert/strict';

import {
  IdentityKeyPair,
  MeetingClient,
  MeetingSession,
  PolicyDocument,
  checkCallFeature,
  checkMeetingFeature,
  initiateCallWithPolicy,
} from '../../pkg/meetings-node.js';
import { assertCamelCase } from '../camel-case.mjs';
import { errorCode } from '../error-code.mjs';
import { verifiedPolicy } from '../signed-policy.mjs';

const policy = JSON.stringify({
  version: 1,
  policies: [{
    Identity: 'Global',
    CallingEndtoEndEncryptionEnabledType: 'DisabledUserOverride',
    MeetingEndToEndEncryption: 'DisabledUserOverride',
    Description: '',
  }],
  users: { alice: { e2ee_calls: true }, bob: { e2ee_calls: true } },
});


test('call decisions, gating and a call under the policy', () => {
  const doc = verifiedPolicy(api, policy);
  const ok = doc.evaluateCall('alice', 'bob');
  assert.equal(ok.e2ee, true);
  assert.equal(ok.reason, 'ok');
  assert.equal(ok.unavailableFeatures.length, 9);
  assert.deepEqual(ok.notEndToEndEncrypted, ['chat', 'reactions']);
  assert.deepEqual(Object.keys(ok), ['e2ee', 'reason', 'unavailableFeatures', 'notEndToEndEncrypted']);
  assert.equal(assertCamelCase(ok), 4);
  assert.equal(assertCamelCase(doc.evaluateCall('alice', 'carol')), 4);
  assert.equal(doc.evaluateCall('alice', 'carol').reason, 'user-setting-off');
  assert.deepEqual(doc.evaluateCall('carol', 'alice'), doc.evaluateCall('alice', 'carol'));
  const meeting = doc.evaluateMeeting('alice', true, [
    { user: 'alice', platform: 'desktop-mac' },
    { user: 'carol', platform: 'web' },
  ]);
  assert.deepEqual(meeting.admitted, ['alice']);
  assert.deepEqual(meeting.refused, [{ user: 'carol', reason: 'unsupported-platform' }]);
  assert.deepEqual(Object.keys(meeting).sort(), [
    'admitted', 'e2ee', 'notEndToEndEncrypted', 'reason', 'refused', 'unavailableFeatures',
  ]);
  assert.equal(assertCamelCase(meeting), 8);
  assert.equal(errorCode(() => doc.evaluateMeeting('alice', true, [{ user: 'x', platform: 'linux' }])), 'invalid-argument');
  assert.equal(errorCode(() => checkCallFeature(true, 'recording')), 'feature-unavailable');
  checkCallFeature(true, 'chat');
  checkCallFeature(false, 'recording');
  assert.equal(errorCode(() => checkMeetingFeature(true, 'breakout-rooms')), 'feature-unavailable');
  assert.equal(errorCode(() => PolicyDocument.fromJson('{')), 'malformed');

  const alice = IdentityKeyPair.generate();
  assert.equal(errorCode(() => initiateCallWithPolicy(doc, 'carol', alice, 'alice', { suite: 4 })), 'policy-forbids');
  const start = initiateCallWithPolicy(doc, 'bob', alice, 'alice');
  assert.equal(assertCamelCase(start), 2);
  assert.equal(errorCode(() => start.session.checkFeature('call-park')), 'feature-unavailable');
  start.session.checkFeature('reactions');
  start.session.free();
  alice.free();
  doc.free();
});

test('a meeting: codes agree, media flows, a removed member is locked out', () => {
  const doc = verifiedPolicy(api, policy);
  const organizer = MeetingSession.create(new MeetingClient('olga', 'desktop-mac'), doc, 4, 0);
  const peteClient = new MeetingClient('pete', 'android');
  const added = organizer.add(peteClient.keyPackage());
  assert.equal(assertCamelCase(added), 2);
  const first = organizer.commitAccepted(0);
  assert.deepEqual(Object.keys(first).sort(), [
    'added', 'code', 'committer', 'epoch', 'organizerChanged', 'ownCommitDiscarded',
    'released', 'removed', 'removedSelf', 'rolesChanged', 'selfUpdate',
  ]);
  assert.equal(typeof first.epoch, 'bigint');
  assert.ok(assertCamelCase(first) >= 11);
  const pete = MeetingSession.join(peteClient, added.welcome, doc, 0);
  assert.equal(pete.code, organizer.code);
  assert.match(organizer.code, /^\d{5} \d{5} \d{5} \d{5}$/);
  assert.deepEqual(organizer.members().map((m) => m.user), ['olga', 'pete']);
  assert.equal(assertCamelCase(organizer.members()), 10);
  assert.equal(assertCamelCase(organizer.roster()), 14);
  const frame = organizer.encrypt('audio/opus', new Uint8Array([0x78, 1, 2]));
  const decrypted = pete.decrypt(frame, 1);
  assert.deepEqual(Array.from(decrypted.payload), [0x78, 1, 2]);
  assert.deepEqual(Object.keys(decrypted), ['sender', 'codec', 'payload']);
  assert.equal(assertCamelCase(decrypted), 3);
  assert.equal(errorCode(() => pete.decrypt(frame, 1)), 'replay');
  assert.equal(errorCode(() => organizer.add(new MeetingClient('walt', 'web').keyPackage())), 'policy-forbids');
  assert.equal(errorCode(() => pete.handleCommit(new Uint8Array([1, 2, 3]), 2)), 'malformed');

  const removal = organizer.remove('pete');
  const change = organizer.commitAccepted(3);
  assert.notEqual(change.code, pete.code);
  const removed = pete.handleCommit(removal.commit, 3);
  assert.equal(removed[0].removedSelf, true);
  assert.ok(assertCamelCase(removed) >= 11);
  assert.equal(pete.isRemoved, true);
  assert.ok(errorCode(() => pete.decrypt(organizer.encrypt('generic', new Uint8Array([9])), 4)));
  assert.equal(errorCode(() => MeetingSession.create(new MeetingClient('o', 'ios'), verifiedPolicy(api, new PolicyDocument().toJson()), 4, 0)), 'policy-forbids');
  organizer.free();
  pete.free();
  doc.free();
});
