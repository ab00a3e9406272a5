// What the relay tests share: a real `callseal relay` process, polling,
// and printing values with bigints. Needs the `callseal` binary:
// $CALLSEAL_BIN, else target/debug/callseal (scripts/test-wasm builds it).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { serve } from '../../demo/serve.mjs';
import { CHROMIUM_ARGS } from '../browser/chromium.mjs';

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

/**
 * What a relay suite runs on: the static server, headless Chromium (with
 * `args` beyond CHROMIUM_ARGS) and a relay. `newContext()` opens a browser
 * context of its own storage (another browser, as far as a page knows);
 * `pageErrors` collects the pages' uncaught errors (`watch(page, name)`);
 * `close()` ends everything.
 */
export async function openStage({ args = [] } = {}) {
  if (!existsSync(BIN)) throw new Error(`no callseal binary at ${BIN}: cargo build -p callseal-cli (or set CALLSEAL_BIN)`);
  const server = await serve({ port: 0 });
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, ...args],
  });
  const relay = await startRelay();
  const contexts = [];
  const pageErrors = [];
  return {
    server,
    browser,
    relay,
    pageErrors,
    async newContext() {
      const context = await browser.newContext({ viewport: { width: 900, height: 700 } });
      contexts.push(context);
      return context;
    },
    watch(page, name) {
      page.on('pageerror', (err) => pageErrors.push(`${name}: ${err.message}`));
    },
    async close() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      await server.close();
      relay.stop();
    },
  };
}
