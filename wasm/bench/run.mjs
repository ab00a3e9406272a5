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
  const threshold = await page.evaluate(() => window.bench.threshold);
  const fmt = (n) => Math.round(n).toLocaleString('en-US');
  const size = (n) => (n >= 1000 ? `${n / 1000} KB` : `${n} B`);
  const lines = [
    `Chromium: ${result.userAgent.match(/Chrome\/[\d.]+/)?.[0] ?? result.userAgent}; ${rounds} rounds of ${ms} ms per size, median; encrypt+decrypt round trips per second`,
    '',
    `| frame | worker path, VP8 (WebCrypto from ${threshold} B) | WebCrypto AES-GCM, awaited | **worker / WebCrypto** | WebCrypto + frame layout buffers | worker / that | \`FrameSender.encrypt\`+\`decrypt\` | \`encryptAsync\`+\`decryptAsync\` | sync / WebCrypto | async / WebCrypto |`,
    '|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|',
    ...result.rows.map((r) => {
      const x = (n, d = r.webcrypto) => `${(n / d).toFixed(2)}×`;
      return `| ${size(r.size)} | ${fmt(r.worker)} | ${fmt(r.webcrypto)} | **${x(r.worker)}** | ${fmt(r.framed)} | ${x(r.worker, r.framed)} | ${fmt(r.callseal)} | ${fmt(r.callsealAsync)} | ${x(r.callseal)} | ${x(r.callsealAsync)} |`;
    }),
    '',
    'Crossover (the worker path forced onto one AES-GCM; WEBCRYPTO_MIN_BYTES in wasm/js/media-crypto.js comes from here):',
    '',
    '| frame | core AES-GCM (wasm) | WebCrypto | faster |',
    '|---|---:|---:|---|',
    ...result.crossover.map(
      (c) => `| ${size(c.size)} | ${fmt(c.sync)} | ${fmt(c.webcrypto)} | ${c.sync >= c.webcrypto ? 'wasm' : 'WebCrypto'} |`,
    ),
  ];
  const firstWebCrypto = result.crossover.find((c) => c.webcrypto > c.sync);
  lines.push('', `measured crossover: WebCrypto faster from ${firstWebCrypto ? size(firstWebCrypto.size) : 'none of the sizes'}; threshold in use: ${threshold} B`);
  const text = lines.join('\n');
  console.log(text);
  if (out) writeFileSync(out, `${text}\n`);
} finally {
  await browser.close();
}
