// The package's TypeScript declarations compile and describe what it
// returns: `tsc --noEmit --strict` over wasm/test/types/package.ts, which
// pins the keys and field types of each returned object (policy decisions,
// call and meeting results, decrypted frames) against wasm/pkg's .d.ts
// files, most of them generated from the Rust structs that build the
// objects. TypeScript comes from wasm/node_modules (pinned in
// wasm/package.json; scripts/build-wasm installs it).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { CallSession, IdentityKeyPair } from '../../pkg/node.js';

const wasm = fileURLToPath(new URL('../../', import.meta.url));
const tsc = `${wasm}node_modules/.bin/tsc`;
const fixture = `${wasm}test/types/package.ts`;

/** Runs tsc on `file` in strict mode; returns its output and status. */
function compile(file) {
  assert.ok(existsSync(tsc), `${tsc} missing: run npm ci in wasm/`);
  const run = spawnSync(tsc, [
    '--noEmit', '--strict', '--target', 'esnext', '--module', 'esnext',
    '--moduleResolution', 'bundler', '--lib', 'esnext,dom', '--types', '',
    file,
  ], { encoding: 'utf8' });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

/** The keys an interface of callseal.d.ts declares. */
function declaredKeys(dts, name) {
  const body = dts.match(new RegExp(`export interface ${name} \\{([^}]*)\\}`));
  assert.ok(body, `no interface ${name} in callseal.d.ts`);
  return [...body[1].matchAll(/^\s*([A-Za-z0-9_]+)\??:/gm)].map((m) => m[1]);
}

/** The option names `call` accepts, as its error for an unknown one lists them. */
function acceptedOptions(call) {
  try {
    call({ notAnOption: true });
  } catch (err) {
    const known = err.message.match(/\(known: ([^)]*)\)/);
    assert.ok(known, err.message);
    return known[1].split(', ');
  }
  assert.fail('an unknown option was accepted');
}

test('the declarations compile and match the returned objects', () => {
  const { status, output } = compile(fixture);
  assert.equal(status, 0, output);
});

test('the generated declarations name every returned object camelCase', () => {
  // callseal/meetings' glue declares everything (callseal's, without meetings).
  const dts = readFileSync(`${wasm}pkg/meetings/callseal.d.ts`, 'utf8');
  for (const name of [
    'CallDecision', 'MeetingDecision', 'Refusal', 'DecryptedFrame', 'CallStart', 'Handled',
    'CallMedia', 'CommitMessages', 'Batch', 'MeetingMember', 'RosterEntry', 'MeetingFrame',
    'EpochChange',
  ]) {
    const keys = declaredKeys(dts, name);
    assert.ok(keys.length > 0, `${name} has no keys`);
    for (const key of keys) {
      assert.match(key, /^[a-z][a-zA-Z0-9]*$/, `${name}.${key}`);
    }
  }
});

test('CallOptions and RespondOptions declare exactly the options accepted', () => {
  // The options are read by hand, not derived: their declarations are
  // checked against what initiate and respond accept.
  const dts = readFileSync(`${wasm}pkg/callseal.d.ts`, 'utf8');
  const identity = IdentityKeyPair.generate();
  const initiate = acceptedOptions((o) => CallSession.initiate(identity, 'alice', 'bob', o));
  const respond = acceptedOptions((o) => CallSession.respond(identity, 'bob', new Uint8Array(1), o));
  assert.deepEqual(declaredKeys(dts, 'CallOptions').sort(), initiate.sort());
  assert.deepEqual(declaredKeys(dts, 'RespondOptions').sort(), respond.sort());
  identity.free();
});
