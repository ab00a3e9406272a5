// Headless Chromium (Debian's /usr/bin/chromium, or $CHROMIUM_BIN) driven by
// playwright-core, with fake camera and microphone, and the static server.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';

import { serve } from '../../demo/serve.mjs';

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--use-fake-device-for-media-stream',
  '--use-fake-ui-for-media-stream',
];

/** Starts the server and Chromium; resolves to `{ url, page(path), close() }`. */
export async function openBrowser() {
  const server = await serve({ port: 0 });
  const profile = await mkdtemp(join(tmpdir(), 'callseal-chromium-'));
  const context = await chromium.launchPersistentContext(profile, {
    executablePath: process.env.CHROMIUM_BIN || '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport: { width: 900, height: 700 },
  });
  const consoleLines = [];
  return {
    url: server.url,
    consoleLines,
    async page(path, ready) {
      const page = await context.newPage();
      page.on('console', (msg) => consoleLines.push(`${msg.type()}: ${msg.text()}`));
      page.on('pageerror', (err) => consoleLines.push(`pageerror: ${err.message}`));
      await page.goto(`${server.url}${path}`);
      if (ready) await page.waitForFunction(ready, null, { timeout: 30000 });
      return page;
    },
    async close() {
      await context.close();
      await server.close();
      await rm(profile, { recursive: true, force: true });
    },
  };
}
