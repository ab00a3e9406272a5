// Runs wasm/bench/ in headless Chromium and prints a Markdown table:
// encrypt+decrypt round trips per second, AES-128-GCM (suite 4).
//   node wasm/bench/run.mjs [--ms 500] [--rounds 5] [--out FILE]
import { writeFileSync } from 'node:fs';

import { openBrowser } from '../test/browser/chromium.mjs';

const arg = (name, fallback) => {
  const i = process.argv.indexOf(name);
  return i > 0 ? process.argv[i + 1] : fallback;
};
const ms = Number(arg('--ms', 500));
const rounds = Number(arg('--rounds', 5));
const out = arg('--out', null);

const browser = await openBrowser();
try {
  const page = await browser.page('/bench/', () => window.benchReady === true);
  const result = await page.evaluate((o) => window.bench.run(o), { ms, rounds });
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const size = (n) => (n >= 1000 ? `${n / 1000} KB` : `${n} B`);
  const lines = [
    `Chromium: ${result.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? result.userAgent}; ${rounds} rounds of ${ms} ms per size, median`,
    '',
    '| frame | callseal `encrypt`+`decrypt` (frames/s) | callseal `encryptAsync`+`decryptAsync` (frames/s) | WebCrypto AES-GCM, awaited (frames/s) | sync / WebCrypto | async / WebCrypto | best / WebCrypto |',
    '|---|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map((r) => {
      const best = Math.max(r.callseal, r.callsealAsync);
      const x = (n) => `${(n / r.webcrypto).toFixed(2)}×`;
      return `| ${size(r.size)} | ${fmt(r.callseal)} | ${fmt(r.callsealAsync)} | ${fmt(r.webcrypto)} | ${x(r.callseal)} | ${x(r.callsealAsync)} | ${x(best)} |`;
    }),
  ];
  const text = lines.join('\n');
  console.log(text);
  if (out) writeFileSync(out, `${text}\n`);
} finally {
  await browser.close();
}
