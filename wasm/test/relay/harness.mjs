// What the relay tests share: a real `callseal relay` process, polling,
// and printing values with bigints. Needs the `callseal` binary:
// $CALLSEAL_BIN, else target/debug/callseal (scripts/test-wasm builds it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
export const BIN = process.env.CALLSEAL_BIN || `${ROOT}target/debug/callseal`;

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
export const show = (v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? String(x) : x));

/** Polls `fn` until `ok(value)`; returns the value, or throws after `ms`. */
export async function until(fn, ok, ms, what) {
  const end = Date.now() + ms;
  let value;
  while (Date.now() < end) {
    value = await fn();
    if (ok(value)) return value;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}: ${show(value)}`);
}

/** Starts `callseal relay`; resolves to `{ url, log, stop() }`. */
export async function startRelay(extra = []) {
  const child = spawn(BIN, ['relay', '--listen', '127.0.0.1:0', ...extra], { stdio: ['ignore', 'pipe', 'pipe'] });
  const log = [];
  createInterface({ input: child.stderr }).on('line', (line) => log.push(line));
  const first = await new Promise((resolve, reject) => {
    createInterface({ input: child.stdout }).once('line', resolve);
    child.once('exit', (code) => reject(new Error(`callseal relay exited with ${code}: ${log.join('\n')}`)));
  });
  const url = /listening on (ws:\/\/\S+)/.exec(first)?.[1];
  assert.ok(url, first);
  return {
    url,
    log,
    stop() {
      child.kill('SIGINT');
    },
  };
}
