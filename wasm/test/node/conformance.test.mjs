// The conformance files replayed in Node against the built package.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';

import * as api from '../../pkg/node.js';
import { FILES, replayAll } from '../conformance.mjs';

const dir = new URL('../../../tests/conformance/', import.meta.url);

for (const name of FILES) {
  const path = new URL(name, dir);
  const present = existsSync(path);
  test(`conformance ${name}`, { skip: present ? false : `tests/conformance/${name} not present` }, () => {
    const file = JSON.parse(readFileSync(path, 'utf8'));
    const counts = replayAll(api, { [name]: file });
    assert.equal(counts[name], file.cases.length);
    console.log(`replayed ${counts[name]} cases of ${name}`);
  });
}

test('conformance files are present under CI', { skip: process.env.CI !== 'true' && 'not under CI' }, () => {
  const present = FILES.filter((n) => existsSync(new URL(n, dir)));
  assert.deepEqual(present, FILES, 'every conformance file must be committed');
});
