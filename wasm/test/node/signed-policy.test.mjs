// Signed policy documents and downgrades through the built package
// (docs/POLICY.md, "Signed policy documents" and "Downgrades").
import { test } from 'node:test';
import assert from 'node:assert/strict';

import * as api from '../../pkg/node.js';
import { errorCode } from '../error-code.mjs';
import { signPolicy, tenantKey, verifiedPolicy } from '../signed-policy.mjs';

const { PolicyDocument, PolicySigningKey, VerifiedPolicy, acceptPlainCall, callMode } = api;

const policy = (bobOn) => JSON.stringify({
  version: 1,
  policies: [{
    Identity: 'Global',
    CallingEndtoEndEncryptionEnabledType: 'DisabledUserOverride',
    MeetingEndToEndEncryption: 'Disabled',
    Description: '',
  }],
  users: { alice: { e2ee_calls: true }, bob: { e2ee_calls: bobOn } },
});

test('a document signed by an independent Ed25519 (node:crypto) verifies; its serial and time come back', () => {
  const verified = VerifiedPolicy.verify(signPolicy(policy(true), 7, 1796169600), tenantKey, 0);
  assert.equal(verified.serial, 7);
  assert.equal(verified.issuedAt, 1796169600);
  assert.equal(verified.evaluateCall('alice', 'bob').e2ee, true);
  assert.equal(verified.document().evaluateCall('alice', 'bob').reason, 'ok');
  // The package's own signer makes what node:crypto makes, byte for byte.
  const admin = PolicySigningKey.fromBytes(new Uint8Array(32).fill(0x5a));
  assert.deepEqual(admin.tenantKey(), tenantKey);
  const doc = PolicyDocument.fromJson(policy(true));
  const ours = admin.sign(doc, 3, 1796169600);
  assert.equal(VerifiedPolicy.verify(ours, tenantKey, 3).serial, 3);
  assert.deepEqual(admin.toBytes(), new Uint8Array(32).fill(0x5a));
  assert.equal(errorCode(() => PolicySigningKey.fromBytes(new Uint8Array(31))), 'invalid-argument');
  assert.equal(errorCode(() => admin.sign(doc, 0, 0)), 'invalid-argument');
  assert.equal(errorCode(() => admin.sign(doc, 2 ** 53, 0)), 'invalid-argument');
});

test('what a server can try is refused, each with its code', () => {
  const good = signPolicy(policy(true), 5);
  // A changed byte in the payload.
  const text = new TextDecoder().decode(good);
  const at = text.indexOf('"payload": "') + 30;
  const tampered = good.slice();
  tampered[at] = tampered[at] === 0x41 ? 0x42 : 0x41;
  assert.equal(errorCode(() => VerifiedPolicy.verify(tampered, tenantKey, 0)), 'authentication-failed');
  // Another tenant's key.
  const other = PolicySigningKey.generate();
  assert.equal(errorCode(() => VerifiedPolicy.verify(good, other.tenantKey(), 0)), 'wrong-peer');
  assert.equal(
    errorCode(() => VerifiedPolicy.verify(other.sign(PolicyDocument.fromJson(policy(true)), 9, 0), tenantKey, 0)),
    'wrong-peer',
  );
  // An older serial than the one held.
  assert.equal(errorCode(() => VerifiedPolicy.verify(good, tenantKey, 6)), 'replay');
  assert.equal(VerifiedPolicy.verify(good, tenantKey, 5).serial, 5);
  // A user listed twice (the last would have won).
  const twice = policy(true).replace('"bob":', '"alice":');
  assert.equal(errorCode(() => VerifiedPolicy.verify(signPolicy(twice, 6), tenantKey, 0)), 'malformed');
  assert.equal(errorCode(() => PolicyDocument.fromJson(twice)), 'malformed');
  // Bad arguments.
  assert.equal(errorCode(() => VerifiedPolicy.verify(good, tenantKey.subarray(1), 0)), 'invalid-argument');
  assert.equal(errorCode(() => VerifiedPolicy.verify(good, new Uint8Array(32), 0)), 'invalid-argument');
  assert.equal(errorCode(() => VerifiedPolicy.verify(good, tenantKey, -1)), 'invalid-argument');
});

test('a downgrade shows on both sides, and requireE2ee refuses it', () => {
  const off = verifiedPolicy(api, policy(false));
  // Bob's setting is off: both sides see the same reason.
  assert.deepEqual(callMode(off.evaluateCall('alice', 'bob'), false), { e2ee: false, reason: 'user-setting-off' });
  assert.equal(acceptPlainCall(off.evaluateCall('bob', 'alice'), false), 'user-setting-off');
  assert.equal(errorCode(() => callMode(off.evaluateCall('alice', 'bob'), true)), 'policy-forbids');
  assert.equal(errorCode(() => acceptPlainCall(off.evaluateCall('bob', 'alice'), true)), 'policy-forbids');
  // Both on: the call is end-to-end encrypted, and a plain call is a downgrade.
  const on = verifiedPolicy(api, policy(true));
  assert.deepEqual(callMode(on.evaluateCall('alice', 'bob'), true), { e2ee: true, reason: 'ok' });
  assert.equal(errorCode(() => acceptPlainCall(on.evaluateCall('bob', 'alice'), false)), 'protocol-violation');
  assert.equal(errorCode(() => callMode({ e2ee: false, reason: 'nonsense' }, false)), 'invalid-argument');
  assert.equal(errorCode(() => callMode(null, false)), 'invalid-argument');
  assert.equal(errorCode(() => callMode({ e2ee: true, reason: 'policy-disabled' }, false)), 'invalid-argument');
  assert.equal(errorCode(() => acceptPlainCall({ e2ee: false, reason: 'ok' }, false)), 'invalid-argument');
  // An id the policy cannot hold is never a stranger whose calls are plain.
  assert.equal(errorCode(() => acceptPlainCall(on.evaluateCall('bob', 'alice\u200b'), false)), 'invalid-argument');
});
