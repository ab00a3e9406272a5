// The conformance files replayed in Node: frames, media, errors and policy
// on the built package, calls.json on the conformance build (the shipped
// package has no fixed-randomness entry points; scripts/test-wasm builds
// wasm/pkg-conformance with scripts/build-wasm --conformance).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

import * as api from '../../pkg/node.js';
import { FILES, replayAll } from '../conformance.mjs';

const dir = new URL('../../../tests/conformance/', import.meta.url);
const conformanceBuild = new URL('../../pkg-conformance/node.js', import.meta.url);

async function scriptedApi() {
  assert.ok(
    existsSync(conformanceBuild),
    'wasm/pkg-conformance is not built: run scripts/build-wasm --conformance (scripts/test-wasm does)',
  );
  return import(conformanceBuild.href);
}

for (const name of FILES) {
  const path = new URL(name, dir);
  const present = existsSync(path);
  test(`conformance ${name}`, { skip: present ? false : `tests/conformance/${name} not present` }, async () => {
    const file = JSON.parse(readFileSync(path, 'utf8'));
    const scripted = name === 'calls.json' ? await scriptedApi() : api;
    const counts = replayAll(api, { [name]: file }, { scripted });
    assert.equal(counts[name], file.cases.length);
    console.log(`replayed ${counts[name]} cases of ${name}`);
  });
}

test('conformance files are present under CI', { skip: process.env.CI !== 'true' && 'not under CI' }, () => {
  const present = FILES.filter((n) => existsSync(new URL(n, dir)));
  assert.deepEqual(present, FILES, 'every conformance file must be committed');
});

test('the conformance build has the scripted entry points, and they draw only what they are given', async () => {
  const c = await scriptedApi();
  const alice = c.IdentityKeyPair.fromBytes(new Uint8Array(32).fill(1));
  const bob = c.IdentityKeyPair.fromBytes(new Uint8Array(32).fill(2));
  const entropy = (n, b) => new Uint8Array(n).fill(b);
  const code = (fn) => {
    try {
      fn();
    } catch (err) {
      return err.code;
    }
    return null;
  };
  // 112 bytes for initiate, 64 for respond: one byte less fails with `entropy`.
  assert.equal(code(() => c.CallSession.initiateScripted(alice, 'alice', 'bob', {}, entropy(111, 3))), 'entropy');
  const i = c.CallSession.initiateScripted(alice, 'alice', 'bob', undefined, entropy(112, 3));
  const again = c.CallSession.initiateScripted(alice, 'alice', 'bob', null, entropy(112, 3));
  assert.deepEqual(again.message, i.message); // fixed randomness: the same Commit
  assert.equal(code(() => c.CallSession.respondScripted(bob, 'bob', i.message, {}, entropy(63, 4))), 'entropy');
  const r = c.CallSession.respondScripted(bob, 'bob', i.message, {}, entropy(64, 4));
  const [s1, s2] = [c.IdentityStore.memory(), c.IdentityStore.memory()];
  const confirm = r.session.handle(i.session.handle(r.message, s1).reply, s2).reply;
  i.session.handle(confirm, s1);
  // 96 bytes for an offer, 64 for an answer.
  assert.equal(code(() => i.session.rekeyScripted(entropy(95, 5))), 'entropy');
  assert.equal(i.session.rekeyPending, false);
  const offer = i.session.rekeyScripted(entropy(96, 5));
  assert.equal(code(() => r.session.handleScripted(offer, s2, entropy(63, 6))), 'entropy');
  assert.equal(r.session.state, 'encrypted'); // an established session does not fail
  const answered = r.session.handleScripted(offer, s2, entropy(64, 6));
  assert.ok(answered.reply instanceof Uint8Array);
  assert.equal(answered.media.epoch, 1);
  for (const o of [alice, bob, i.session, again.session, r.session, s1, s2, answered.media]) o.free();
});
