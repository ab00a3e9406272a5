// Calls between separate browser contexts (separate storage, separate
// workers, as two browsers would be) through a real `callseal relay`
// process, with the demo's call page (wasm/demo/call.html):
//
// - a call over WebRTC: equal codes, lock-and-shield, video and audio
//   decoding both ways;
// - continuity: verify, reload both pages, call again: known-verified
//   without comparing; one side's identity replaced: changed;
// - `--mitm` with media over the relay's binary channel: the relay
//   re-encrypts, media still decodes, the codes differ (and the same path
//   through an honest relay: equal codes);
// - a signed policy that makes the call plain: both sides show the reason;
// - a third client of the relay cannot rename the peer or call it plain.
//
// Needs the `callseal` binary: $CALLSEAL_BIN, else target/debug/callseal
// (scripts/test-wasm builds it).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { signPolicy, tenantKey } from '../signed-policy.mjs';
import { openStage, show, sleep, startRelay, until } from './harness.mjs';

let stage;
let server;
let relay;

before(async () => {
  // Host candidates as addresses, not mDNS names, between two contexts.
  stage = await openStage({ args: ['--disable-features=WebRtcHideLocalIpsWithMdns'] });
  ({ server, relay } = stage);
});

after(async () => {
  if (stage) await stage.close();
});

const newContext = () => stage.newContext();

/** The call page for `name` in `context`, ready (worker, keyring, relay). */
async function callPage(context, name, { relayUrl = relay.url, media = 'webrtc' } = {}) {
  const page = await context.newPage();
  stage.watch(page, name);
  await page.goto(`${server.url}/demo/call.html?name=${name}&relay=${encodeURIComponent(relayUrl)}&media=${media}`);
  await page.waitForFunction(() => window.callPage !== undefined);
  await page.evaluate(() => window.callPage.ready);
  return page;
}

const snapshot = (page) => page.evaluate(() => window.callPage.snapshot());

async function reload(page) {
  await page.reload();
  await page.waitForFunction(() => window.callPage !== undefined);
  await page.evaluate(() => window.callPage.ready);
}

/** Both sides encrypted (or verified) with media decoding both ways; returns both snapshots. */
async function established(pages, { minVideo = 10, minAudio = 10 } = {}) {
  const both = () => Promise.all(pages.map(snapshot));
  return until(
    both,
    (s) =>
      s.every(
        (x) =>
          x.status &&
          ['encrypted', 'verified'].includes(x.status.state) &&
          x.media.video.framesDecoded >= minVideo &&
          (x.media.audio.framesDecoded ?? 0) + (x.media.audio.totalSamplesReceived ?? 0) >= minAudio,
      ),
    45000,
    'both sides encrypted, video and audio decoding',
  );
}

/** No failed frame on either side (duplicates apart). */
function assertClean(...snaps) {
  for (const s of snaps) {
    assert.equal(s.stats.decryptFailures, 0, `${s.name}: ${show(s.stats.failuresByCode)}`);
    assert.equal(s.error, null, `${s.name}: ${s.error}`);
    assert.ok(s.stats.decryptedByKind.video > 0 && s.stats.decryptedByKind.audio > 0, `${s.name}: ${show(s.stats.decryptedByKind)}`);
  }
}

test('a call between two browser contexts through the relay, then continuity across reloads', async () => {
  const [ctxA, ctxB] = [await newContext(), await newContext()];
  let alice = await callPage(ctxA, 'alice');
  let bob = await callPage(ctxB, 'bob');

  // First call: both new to each other, equal codes, lock-and-shield.
  await bob.evaluate(() => window.callPage.call('alice'));
  let [a, b] = await established([alice, bob]);
  assert.match(a.status.securityCode, /^\d{5} \d{5} \d{5} \d{5}$/);
  assert.equal(a.status.securityCode, b.status.securityCode);
  for (const s of [a, b]) {
    assert.equal(s.status.indicator, 'lock-and-shield');
    assert.equal(s.status.peerStatus, 'new');
    assert.equal(s.codeText, s.status.securityCode, 'the page shows the code');
    assert.ok(s.events.includes('state') && s.events.includes('code'), show(s.events));
  }
  assertClean(a, b);
  await alice.screenshot({ path: fileURLToPath(new URL('../../test-results/relay-alice.png', import.meta.url)) });

  // The users compare codes: verified, and saved in each browser's keyring.
  await alice.evaluate(() => window.callPage.markVerified());
  await bob.evaluate(() => window.callPage.markVerified());
  await until(() => alice.evaluate(() => window.callPage.saved()), (t) => t && JSON.parse(t).bob?.verified === true, 5000, "alice's keyring");
  await until(() => bob.evaluate(() => window.callPage.saved()), (t) => t && JSON.parse(t).alice?.verified === true, 5000, "bob's keyring");

  // Reload both: a new call is known-verified without comparing again.
  await reload(alice);
  await reload(bob);
  await alice.evaluate(() => window.callPage.call('bob'));
  [a, b] = await established([alice, bob], { minVideo: 5 });
  for (const s of [a, b]) {
    assert.equal(s.status.peerStatus, 'known-verified', s.name);
    assert.equal(s.status.indicator, 'lock-and-shield-verified', s.name);
  }
  assert.equal(a.status.securityCode, b.status.securityCode);

  // Bob's identity replaced (a new device, or someone else in his place):
  // Alice sees `changed` and a peer-changed event.
  await bob.evaluate(() => window.callPage.forgetIdentity());
  await reload(bob);
  await reload(alice);
  await bob.evaluate(() => window.callPage.call('alice'));
  [a, b] = await established([alice, bob], { minVideo: 3, minAudio: 1 });
  assert.equal(a.status.peerStatus, 'changed');
  assert.equal(a.status.indicator, 'lock-and-shield');
  assert.ok(a.events.includes('peer-changed'), show(a.events));
  assert.equal(JSON.parse(await alice.evaluate(() => window.callPage.saved())).bob.verified, false);
  await ctxA.close();
  await ctxB.close();
});

test('media over the relay: an honest relay gives equal codes; a --mitm relay re-encrypts, media decodes, the codes differ', async () => {
  for (const mitm of [false, true]) {
    const used = mitm ? await startRelay(['--mitm']) : relay;
    try {
      const [ctxA, ctxB] = [await newContext(), await newContext()];
      const alice = await callPage(ctxA, 'alice', { relayUrl: used.url, media: 'relay' });
      const bob = await callPage(ctxB, 'bob', { relayUrl: used.url, media: 'relay' });
      await alice.evaluate(() => window.callPage.call('bob'));
      const [a, b] = await established([alice, bob], { minVideo: 10, minAudio: 10 });
      assert.deepEqual([a.status.state, b.status.state], ['encrypted', 'encrypted']);
      assertClean(a, b);
      for (const s of [a, b]) assert.ok(s.codecs.includes('VP8') && s.codecs.includes('Opus'), show(s.codecs));
      if (mitm) {
        assert.notEqual(a.status.securityCode, b.status.securityCode, 'a man in the middle: the codes differ');
        const line = used.log.find((l) => l.includes('the codes differ'));
        assert.ok(line, used.log.join('\n'));
        assert.ok(line.includes(a.status.securityCode) && line.includes(b.status.securityCode), line);
      } else {
        assert.equal(a.status.securityCode, b.status.securityCode);
      }
      await ctxA.close();
      await ctxB.close();
    } finally {
      if (mitm) used.stop();
    }
  }
});

test('a signed policy that makes the call plain: both sides show the reason', async () => {
  const doc = JSON.stringify({
    version: 1,
    policies: [{
      Identity: 'Global',
      CallingEndtoEndEncryptionEnabledType: 'DisabledUserOverride',
      MeetingEndToEndEncryption: 'Disabled',
      Description: '',
    }],
    users: { carol: { e2ee_calls: true }, dave: { e2ee_calls: false } },
  });
  const policy = { signed: [...signPolicy(doc, 3)], tenantKey: [...tenantKey] };
  const [ctxC, ctxD] = [await newContext(), await newContext()];
  const carol = await callPage(ctxC, 'carol');
  const dave = await callPage(ctxD, 'dave');
  for (const page of [carol, dave]) {
    await page.evaluate(({ signed, tenantKey: key }) => {
      window.callPage.usePolicy({ signed: new Uint8Array(signed), tenantKey: new Uint8Array(key), lastSeenSerial: 0 });
    }, policy);
  }
  await carol.evaluate(() => window.callPage.call('dave'));
  const [c, d] = await until(
    () => Promise.all([snapshot(carol), snapshot(dave)]),
    (s) => s.every((x) => x.refused),
    15000,
    'both sides refused',
  );
  for (const s of [c, d]) {
    assert.equal(s.refused, 'user-setting-off', s.name);
    assert.equal(s.refusedText, 'not end-to-end encrypted: user-setting-off');
    assert.equal(s.status, null, `${s.name}: no call started`);
    assert.equal(s.media.video.framesDecoded, 0);
  }
  await ctxC.close();
  await ctxD.close();
});

test('a third relay client cannot rename the peer of a call or mark it refused', async () => {
  // The call page takes signals from its peer only, once a call started:
  // any client of the relay can send signals (this one was found by review).
  const [ctxA, ctxB, ctxM] = [await newContext(), await newContext(), await newContext()];
  const alice = await callPage(ctxA, 'alice', { media: 'relay' });
  const bob = await callPage(ctxB, 'bob', { media: 'relay' });
  await bob.evaluate(() => window.callPage.call('alice'));
  await until(() => snapshot(alice), (s) => s.status && s.status.state === 'encrypted', 20000, 'the call');
  const mallory = await ctxM.newPage();
  await mallory.goto(`${server.url}/demo/call.html?name=unused`).catch(() => {});
  await mallory.evaluate(async (url) => {
    const ws = new WebSocket(url);
    await new Promise((resolve) => (ws.onopen = resolve));
    ws.send(JSON.stringify({ type: 'hello', name: 'mallory' }));
    ws.send(JSON.stringify({ type: 'signal', to: 'alice', data: { plain: true } }));
    ws.send(JSON.stringify({ type: 'signal', to: 'alice', data: { call: 'AAAA' } }));
    await new Promise((resolve) => setTimeout(resolve, 500));
  }, relay.url);
  await sleep(500);
  const s = await snapshot(alice);
  assert.equal(s.status.state, 'encrypted');
  assert.deepEqual({ peer: s.peer, refused: s.refused, refusedText: s.refusedText }, { peer: 'bob', refused: null, refusedText: '' });
  for (const ctx of [ctxA, ctxB, ctxM]) await ctx.close();
});

test('no page error was logged', () => {
  assert.deepEqual(stage.pageErrors, []);
});
