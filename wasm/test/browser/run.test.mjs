// Browser tests in headless Chromium: the conformance files, real calls
// between two RTCPeerConnections with the fake camera and microphone (in-call
// rekeys both ways without a lost frame, stray signalling ignored), the wrong
// peer, a wrong key, and the demo page. Screenshots go to
// wasm/test-results/.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdirSync } from 'node:fs';

import { openBrowser } from './chromium.mjs';

const SHOTS = new URL('../../test-results/', import.meta.url);
mkdirSync(SHOTS, { recursive: true });
const shot = (name) => new URL(name, SHOTS).pathname;

let browser;
before(async () => {
  browser = await openBrowser();
});
after(async () => {
  if (browser) await browser.close();
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Polls `fn` until `ok(value)`; returns the value, or throws after `ms`. */
async function until(fn, ok, ms, what) {
  const end = Date.now() + ms;
  let value;
  while (Date.now() < end) {
    value = await fn();
    if (ok(value)) return value;
    await sleep(250);
  }
  throw new Error(`timed out waiting for ${what}: ${JSON.stringify(value, (k, v) => (typeof v === 'bigint' ? String(v) : v))}`);
}

/**
 * No frame lost: no decrypt failure at all on either side. Frames WebRTC
 * delivered twice (retransmissions, whose first copy decrypted) are not
 * failures: the worker counts them in `duplicates`.
 */
function assertNoLostFrame(side, w) {
  const why = `${side}: ${JSON.stringify(w.failuresByCode)} ${JSON.stringify(w.decryptFailuresByKind)} duplicates ${w.duplicates}`;
  assert.deepEqual(w.failuresByCode, {}, why);
  assert.equal(w.decryptFailures, 0, why);
}

async function testPage() {
  return browser.page('/test/browser/', () => window.testsReady === true);
}

test('conformance files replay byte for byte in Chromium', async () => {
  const page = await testPage();
  const { counts, missing } = await page.evaluate(() => window.tests.conformance());
  for (const name of missing) console.log(`skipped ${name}: not present in tests/conformance/`);
  for (const [name, n] of Object.entries(counts)) console.log(`replayed ${n} cases of ${name} in Chromium`);
  if (process.env.CI === 'true') assert.deepEqual(missing, []);
  const { FILES } = await import('../conformance.mjs');
  assert.equal(Object.keys(counts).length + missing.length, FILES.length);
  await page.close();
});

test('used before init(), the package throws a CallsealError that says to call init()', async () => {
  // A fresh page: page.js imports the package but calls init() only in tests.
  const page = await testPage();
  const seen = await page.evaluate(async () => {
    const m = await import('../../pkg/index.js');
    try {
      new m.MediaSender(4, 1n, new Uint8Array(16));
      return 'no error';
    } catch (e) {
      return [e instanceof m.CallsealError, e.code, e.message];
    }
  });
  assert.equal(seen[0], true, String(seen));
  assert.match(seen[2], /call `await init\(\)`/);
  await page.close();
});

test('every object the package returns has camelCase keys', async () => {
  const page = await testPage();
  const paths = await page.evaluate(() => window.tests.shapes());
  for (const { path, key } of paths) {
    assert.match(key, /^[a-z][a-zA-Z0-9]*$/, path);
  }
  const seen = new Set(paths.map(({ path }) => path.replace(/\[\d+\]/g, '[]')));
  for (const path of [
    'got.callDecision.unavailableFeatures', 'got.callDecision.notEndToEndEncrypted',
    'got.meetingDecision.admitted', 'got.meetingDecision.refused[].reason', 'got.start.message', 'got.reveal.ignored',
    'got.aliceMedia.sender', 'got.decrypted.counter', 'got.batch.messages.welcome',
    'got.change.ownCommitDiscarded', 'got.meetingFrame.payload', 'got.members[].signatureKey',
    'got.roster[].member.role',
  ]) {
    assert.ok(seen.has(path), `${path} missing`);
  }
  await page.close();
});

test('a 1:1 call: same code, lock-and-shield, video and audio decode both ways across rekeys', async () => {
  const page = await testPage();
  const statuses = await page.evaluate(() => window.tests.call());
  assert.deepEqual(statuses.modes, ['script-transform', 'encoded-streams']);
  assert.match(statuses.alice.securityCode, /^\d{5} \d{5} \d{5} \d{5}$/);
  assert.equal(statuses.alice.securityCode, statuses.bob.securityCode);
  for (const side of [statuses.alice, statuses.bob]) {
    assert.equal(side.state, 'encrypted');
    assert.equal(side.indicator, 'lock-and-shield');
  }
  const stats = () => page.evaluate(() => window.tests.stats());
  const first = await until(
    stats,
    (s) => s.bob.received.video.framesDecoded > 5 && s.alice.received.video.framesDecoded > 5,
    30000,
    'decoded video on both sides',
  );
  // Keys change mid-call: Alice's sender ratchets (Bob's receiver follows),
  // stray signalling is ignored, then two rekeys (Alice offers, then Bob).
  const { kid } = await page.evaluate(() => window.tests.ratchet());
  assert.equal(typeof kid, 'bigint');
  const stray = await page.evaluate(() => window.tests.stray());
  assert.deepEqual(stray.ignored, ['malformed', 'other-session']);
  assert.deepEqual(stray.replies, [null, null]);
  assert.equal(stray.status.state, 'encrypted');
  await sleep(500);
  const rekeys = await page.evaluate(() => window.tests.rekey());
  const epochs = [rekeys.first.alice, rekeys.first.bob, rekeys.second.alice, rekeys.second.bob].map((s) => s.epoch);
  assert.deepEqual(epochs, [1, 1, 2, 2]);
  assert.equal(rekeys.second.alice.securityCode, statuses.alice.securityCode);
  await sleep(2000);
  const later = await until(
    stats,
    (s) => s.bob.received.video.framesDecoded > first.bob.received.video.framesDecoded + 10,
    20000,
    'more decoded video after the rekey',
  );
  for (const side of ['alice', 'bob']) {
    const w = later[side].worker;
    assert.ok(w.decryptedByKind.video > 0 && w.decryptedByKind.audio > 0, JSON.stringify(w));
    // No frame lost across the ratchet step and the rekeys.
    assertNoLostFrame(side, w);
    assert.ok(later[side].received.audio.totalSamplesReceived > later[side].received.audio.concealedSamples);
    assert.ok(later[side].received.audio.packetsReceived > 0);
    assert.equal(w.encryptFailures, 0);
    assert.equal(w.misrouted, 0, JSON.stringify(w));
    // Video frames from 1,000 bytes go through WebCrypto, audio through WebAssembly.
    assert.ok(w.webCrypto.encrypted > 0 && w.webCrypto.decrypted > 0, JSON.stringify(w.webCrypto));
    assert.ok(w.webCrypto.decrypted < w.decrypted, JSON.stringify(w));
    // Each rekey: one update at the offerer, two at the answerer.
    assert.equal(w.rekeys, 3, JSON.stringify(w));
    assert.deepEqual(w.ignoredSignals, side === 'bob' ? { malformed: 1, 'other-session': 1 } : {});
  }
  assert.ok(later.alice.worker.encryptedByCodec['video/VP8'] > 0, JSON.stringify(later.alice.worker));
  assert.ok(later.alice.worker.encryptedByCodec['audio/opus'] > 0, JSON.stringify(later.alice.worker));
  console.log(`call: Bob decoded ${later.bob.received.video.framesDecoded} video frames; worker ${JSON.stringify(later.bob.worker.decryptedByKind)}`);
  await page.screenshot({ path: shot('call.png') });
  await page.evaluate(() => window.tests.hangUp());
  await page.close();
});

test('unprotect detaches a sender mid-call: its track goes first, nothing reaches the peer after', async () => {
  const page = await testPage();
  await page.evaluate(() => window.tests.call());
  const stats = () => page.evaluate(() => window.tests.stats());
  await until(stats, (s) => s.bob.received.video.framesDecoded > 5, 30000, 'video at Bob');
  const r = await page.evaluate(() => window.tests.unprotectVideo());
  assert.equal(r.before.protected, true);
  assert.deepEqual([r.detached, r.again, r.protected], [true, false, false]);
  assert.equal(r.track, null, 'replaceTrack(null) before the transform is removed');
  assert.equal(r.transform, null);
  assert.equal(r.transforms.send, r.before.transforms.send - 1);
  // Nothing more of Alice's video decodes at Bob; her audio still does.
  await sleep(1000);
  const after = await stats();
  await sleep(2000);
  const later = await stats();
  assert.ok(later.bob.received.video.framesDecoded - after.bob.received.video.framesDecoded <= 1, JSON.stringify([after.bob.received.video, later.bob.received.video]));
  assert.ok(later.bob.worker.decryptedByKind.audio > after.bob.worker.decryptedByKind.audio);
  assert.equal(later.bob.worker.decryptFailures, 0);
  await page.evaluate(() => window.tests.hangUp());
  await page.close();
});

test('a call answered by someone else than the callee is refused with wrong-peer', async () => {
  const page = await testPage();
  assert.equal(await page.evaluate(() => window.tests.wrongPeer()), 'wrong-peer');
  await page.close();
});

test('with a wrong key nothing decodes and the failures are counted', async () => {
  const page = await testPage();
  await page.evaluate(() => window.tests.keyed({ wrongKey: true }));
  const stats = () => page.evaluate(() => window.tests.stats());
  // Alice's receive key is right: her side decodes, which shows media flows.
  const s = await until(
    stats,
    (v) => v.alice.received.video.framesDecoded > 10 && v.bob.worker.decryptFailures > 50,
    30000,
    'media flowing with a wrong key at Bob',
  );
  assert.equal(s.bob.received.video.framesDecoded, 0);
  assert.equal(s.bob.worker.decrypted, 0);
  assert.ok(s.bob.worker.failuresByCode['authentication-failed'] > 50, JSON.stringify(s.bob.worker));
  assert.ok(s.bob.received.audio.totalSamplesReceived === s.bob.received.audio.concealedSamples || s.bob.received.audio.totalSamplesReceived === 0);
  console.log(`wrong key: ${s.bob.worker.decryptFailures} frames refused at Bob, 0 decoded; Alice decoded ${s.alice.received.video.framesDecoded}`);
  await page.screenshot({ path: shot('wrong-key.png') });
  await page.evaluate(() => window.tests.hangUp());
  await page.close();
});

test('the worker refuses a repeated key id, unknown operations, and never reports a failed attach as protected', async () => {
  const page = await testPage();
  const r = await page.evaluate(() => window.tests.workerRules());
  assert.equal(r.repeated, 'invalid-argument');
  assert.equal(r.keyKept, true);
  assert.deepEqual(r.state, { kid: 7n, nextCounter: 0n });
  assert.equal(r.resumed, 'accepted');
  assert.deepEqual(r.unknownOps, ['invalid-argument', 'invalid-argument', 'invalid-argument']);
  assert.deepEqual(r.streamsAttach, ['internal', 'internal']);
  assert.equal(r.streamsProtected, false);
  assert.equal(r.silentAttach, 'internal');
  assert.equal(r.silentProtected, false);
  assert.equal(r.silentTransform, true);
  await page.close();
});

test('a sender whose worker never confirms sends nothing in clear', async () => {
  const page = await testPage();
  const r = await page.evaluate(() => window.tests.silentSender());
  assert.equal(r.attach, 'internal');
  assert.equal(r.protected, false);
  console.log(`silent worker: ${JSON.stringify(r)}`);
  assert.equal(r.framesDecoded, 0, `a plain receiver decoded the camera: ${JSON.stringify(r)}`);
  await page.close();
});

test('frames moved to another track are dropped and counted', async () => {
  const page = await testPage();
  await page.evaluate(() => window.tests.misrouted());
  const stats = () => page.evaluate(() => window.tests.stats());
  const s = await until(
    stats,
    (v) => v.alice.received.video.framesDecoded > 10 && v.bob.worker.misroutedByKind.video > 30 && v.bob.worker.decryptedByKind.audio > 10,
    30000,
    "Alice's camera frames refused by Bob's video track (it takes key id 9 only)",
  );
  assert.equal(s.bob.received.video.framesDecoded, 0);
  assert.equal(s.bob.worker.decryptedByKind.video, 0);
  // Retransmissions for a video decoder that never gets a frame are the
  // likeliest duplicates here: counted apart, not failures.
  assertNoLostFrame('bob', s.bob.worker);
  assert.equal(s.alice.worker.misrouted, 0);
  console.log(`misrouted: Bob dropped ${s.bob.worker.misrouted} authentic frames of key id 1 on his key-id-9 track; audio decoded ${s.bob.worker.decryptedByKind.audio}`);
  await page.evaluate(() => window.tests.hangUp());
  await page.close();
});

test('the demo page: codes match, verified, then a man in the middle', async () => {
  const page = await browser.page('/demo/', () => window.demo && window.demo.ready);
  await page.click('[data-testid=start]');
  await page.waitForFunction(() => document.body.dataset.call === 'direct', null, { timeout: 30000 });
  const code = (side) => page.textContent(`[data-testid=${side}] .code`);
  const indicator = (side) => page.getAttribute(`[data-testid=${side}] .indicator`, 'data-indicator');
  assert.match(await code('alice'), /^\d{5} \d{5} \d{5} \d{5}$/);
  assert.equal(await code('alice'), await code('bob'));
  assert.equal(await indicator('alice'), 'lock-and-shield');
  assert.equal(await indicator('bob'), 'lock-and-shield');
  await until(() => page.evaluate(() => window.demo.stats()), (s) => s.bob.received.video.framesDecoded > 10, 30000, 'demo video');
  await page.click('[data-testid=alice] .verify');
  await page.click('[data-testid=bob] .verify');
  await page.waitForFunction(() => document.querySelector('[data-testid=bob] .indicator').dataset.indicator === 'lock-and-shield-verified');
  assert.equal(await indicator('alice'), 'lock-and-shield-verified');
  // An in-call rekey from the page: both sides reach epoch 1, nothing fails.
  await page.click('[data-testid=rekey]');
  await page.waitForFunction(
    () => ['alice', 'bob'].every((s) => document.querySelector(`[data-testid=${s}] .epoch`).textContent === '1'),
    null,
    { timeout: 30000 },
  );
  const afterRekey = await page.evaluate(() => window.demo.stats());
  assertNoLostFrame('alice', afterRekey.alice.worker);
  assertNoLostFrame('bob', afterRekey.bob.worker);
  assert.equal(await indicator('bob'), 'lock-and-shield-verified');
  await sleep(1000);
  await page.screenshot({ path: shot('demo-verified.png'), fullPage: true });

  await page.click('[data-testid=hangup]');
  await page.check('[data-testid=mitm]');
  await page.click('[data-testid=start]');
  await page.waitForFunction(() => document.body.dataset.call === 'mitm', null, { timeout: 30000 });
  assert.notEqual(await code('alice'), await code('bob'));
  assert.match(await page.textContent('[data-testid=verdict]'), /differ/);
  const s = await until(
    () => page.evaluate(() => window.demo.stats()),
    (v) => v.bob.worker.decryptFailures > 50 && v.alice.worker.decryptFailures > 50,
    30000,
    'refused frames under the man in the middle',
  );
  assert.equal(s.bob.received.video.framesDecoded, 0);
  assert.equal(s.alice.received.video.framesDecoded, 0);
  await sleep(1000);
  await page.screenshot({ path: shot('demo-mitm.png'), fullPage: true });
  await page.click('[data-testid=hangup]');
  await page.close();
});

test('no page error was logged', () => {
  const errors = browser.consoleLines.filter((l) => l.startsWith('pageerror') || l.startsWith('error'));
  assert.deepEqual(errors, []);
});
