// Hostile review (branch review): the demo call page, which developers
// copy, takes signals from any relay client, not only its peer. Fails on
// the code it was written against (see the report).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

import { serve } from '../../demo/serve.mjs';
import { CHROMIUM_ARGS } from '../browser/chromium.mjs';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const BIN = process.env.CALLSEAL_BIN || `${ROOT}target/debug/callseal`;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

let server;
let browser;
let relay;

before(async () => {
  server = await serve({ port: 0 });
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: [...CHROMIUM_ARGS, '--disable-features=WebRtcHideLocalIpsWithMdns'],
  });
  const child = spawn(BIN, ['relay', '--listen', '127.0.0.1:0'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const first = await new Promise((resolve) => createInterface({ input: child.stdout }).once('line', resolve));
  relay = { url: /listening on (ws:\/\/\S+)/.exec(first)[1], stop: () => child.kill('SIGINT') };
});

after(async () => {
  if (browser) await browser.close();
  if (server) await server.close();
  if (relay) relay.stop();
});

async function callPage(name) {
  const context = await browser.newContext();
  const page = await context.newPage();
  await page.goto(`${server.url}/demo/call.html?name=${name}&relay=${encodeURIComponent(relay.url)}&media=relay`);
  await page.waitForFunction(() => window.callPage !== undefined);
  await page.evaluate(() => window.callPage.ready);
  return page;
}

test('demo call page: a third relay client cannot rename the peer or mark the call refused', async () => {
  const alice = await callPage('alice');
  const bob = await callPage('bob');
  await bob.evaluate(() => window.callPage.call('alice'));
  for (let i = 0; i < 80; i += 1) {
    const s = await alice.evaluate(() => window.callPage.snapshot());
    if (s.status && s.status.state === 'encrypted') break;
    await sleep(250);
  }
  // Mallory: any client of the same relay.
  const mallory = await (await browser.newContext()).newPage();
  await mallory.goto(`${server.url}/demo/call.html?name=unused`).catch(() => {});
  await mallory.evaluate(async (url) => {
    const ws = new WebSocket(url);
    await new Promise((resolve) => (ws.onopen = resolve));
    ws.send(JSON.stringify({ type: 'hello', name: 'mallory' }));
    ws.send(JSON.stringify({ type: 'signal', to: 'alice', data: { plain: true } }));
    await new Promise((resolve) => setTimeout(resolve, 500));
  }, relay.url);
  await sleep(500);
  const s = await alice.evaluate(() => window.callPage.snapshot());
  assert.equal(s.status.state, 'encrypted');
  assert.deepEqual(
    { peer: s.peer, refused: s.refused, refusedText: s.refusedText },
    { peer: 'bob', refused: null, refusedText: '' },
    'the page now names mallory as the peer of the encrypted call with bob, and says the call is not end-to-end encrypted',
  );
});
