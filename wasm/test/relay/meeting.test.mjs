// A meeting between separate browser contexts (separate storage, separate
// meeting workers) through a real `callseal relay` process, with the demo's
// meeting page (wasm/demo/meeting.html): three members meet, a commit race
// is lost and retried, one member leaves (its page closes) and is removed,
// a fourth joins. After every epoch change: every page shows the same
// epoch and code, and frames from every current member decode at every
// other (media sealed by each page's worker with the meeting's keys, sent
// to the room through the relay).
//
// Needs the `callseal` binary: $CALLSEAL_BIN, else target/debug/callseal.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';

import { signPolicy, tenantKey } from '../signed-policy.mjs';
import { openStage, show, until } from './harness.mjs';

// The meeting's grace time (MeetingConfig's default, core/src/meeting/session.rs):
// how long a previous epoch's keys stay, and frames of an epoch not reached are held.
const GRACE_MS = 10_000;
const ROOM = 'standup';

const policyDocument = JSON.stringify({
  version: 1,
  policies: [{
    Identity: 'Global',
    CallingEndtoEndEncryptionEnabledType: 'Disabled',
    MeetingEndToEndEncryption: 'DisabledUserOverride',
    Description: '',
  }],
});

let stage;
let server;
let relay;

before(async () => {
  stage = await openStage();
  ({ server, relay } = stage);
});

after(async () => {
  if (stage) await stage.close();
});

/** The meeting page of `name` in a context of its own, started (in the room) under the signed policy. */
async function join(name, platform) {
  const context = await stage.newContext();
  const page = await context.newPage();
  stage.watch(page, name);
  const query = `name=${name}&room=${ROOM}&platform=${platform}&relay=${encodeURIComponent(relay.url)}`;
  await page.goto(`${server.url}/demo/meeting.html?${query}`);
  await page.waitForFunction(() => window.meetingPage !== undefined);
  await page.evaluate(() => window.meetingPage.ready);
  const policy = { signed: [...signPolicy(policyDocument, 4)], tenantKey: [...tenantKey] };
  await page.evaluate(({ signed, tenantKey: key }) =>
    window.meetingPage.start({ signed: new Uint8Array(signed), tenantKey: new Uint8Array(key), lastSeenSerial: 0 }), policy);
  return { name, page, context };
}

const snapshot = (m) => m.page.evaluate(() => window.meetingPage.snapshot());

/** Every page of `members` in the meeting at `epoch` with these members; returns the snapshots. */
async function meetAt(members, epoch) {
  const names = members.map((m) => m.name).sort();
  const snaps = await until(
    () => Promise.all(members.map(snapshot)),
    (all) => all.every((s) => s.inMeeting && s.epoch === epoch && show([...s.members].sort()) === show(names)),
    45000,
    `${names} in the meeting at epoch ${epoch}`,
  );
  // The same code everywhere, as the page shows it.
  assert.match(snaps[0].code, /^\d{5} \d{5} \d{5} \d{5}$/);
  for (const s of snaps) {
    assert.equal(s.code, snaps[0].code, `${s.name} shows the code of epoch ${epoch}`);
    assert.equal(s.codeText, s.code);
    assert.equal(s.epochText, String(epoch));
    assert.equal(s.error, null, `${s.name}: ${s.error}`);
  }
  return snaps;
}

const decodedFrom = (s, from) => s.decoded[from] || { video: 0, audio: 0 };

/**
 * After an epoch change: every page decodes at least `n` more video frames
 * and audio chunks from every other member than it had in `before`.
 */
async function mediaFlows(members, before, n = 10) {
  const base = new Map(before.map((s) => [s.name, s]));
  return until(
    () => Promise.all(members.map(snapshot)),
    (all) =>
      all.every((s) =>
        members.every((m) => {
          if (m.name === s.name) return true;
          const now = decodedFrom(s, m.name);
          const then = base.has(s.name) ? decodedFrom(base.get(s.name), m.name) : { video: 0, audio: 0 };
          return now.video - then.video >= n && now.audio - then.audio >= n;
        })),
    45000,
    `every member decoding ${n} more frames from every other`,
  );
}

/** Codes agree: every epoch two pages both reached shows the same code on both. */
function codesAgree(snaps) {
  const seen = new Map();
  for (const s of snaps) {
    for (const { epoch, code } of s.epochs) {
      if (seen.has(epoch)) assert.equal(code, seen.get(epoch).code, `epoch ${epoch}: ${s.name} vs ${seen.get(epoch).name}`);
      else seen.set(epoch, { code, name: s.name });
    }
  }
  return seen;
}

test('three browsers meet through the relay, one leaves, a fourth joins: frames decode across every epoch change', async () => {
  const olga = await join('olga', 'desktop-mac');
  let snaps = await meetAt([olga], 0);
  assert.equal(snaps[0].role, 'organizer');

  const pete = await join('pete', 'android');
  snaps = await meetAt([olga, pete], 1);
  snaps = await mediaFlows([olga, pete], snaps);

  const quinn = await join('quinn', 'ios');
  let members = [olga, pete, quinn];
  snaps = await meetAt(members, 2);
  snaps = await mediaFlows(members, snaps);
  for (const s of snaps) {
    assert.equal(s.role, s.name === 'olga' ? 'organizer' : 'participant');
    // The roster's identity statuses: a first meeting, every other key new.
    for (const [user, status] of Object.entries(s.statuses)) {
      assert.equal(status, user === s.name ? 'known-verified' : 'new', `${s.name} sees ${user}`);
    }
  }

  // A commit race: Quinn's self-update is made in epoch 2 while the relay
  // has already ordered Olga's for that epoch. The relay rejects Quinn's;
  // her page takes Olga's commit, then commits again in epoch 3.
  await quinn.page.evaluate(() => window.meetingPage.hold());
  await olga.page.evaluate(() => window.meetingPage.selfUpdate());
  await until(() => snapshot(olga), (s) => s.epoch === 3, 15000, 'olga at epoch 3');
  await quinn.page.evaluate(() => window.meetingPage.selfUpdate());
  await until(() => snapshot(quinn), (s) => s.pending === 2, 15000, "quinn's commit made in epoch 2");
  await quinn.page.evaluate(() => window.meetingPage.release());
  snaps = await meetAt(members, 4);
  const q = snaps.find((s) => s.name === 'quinn');
  assert.equal(q.commitsRejected, 1, 'the relay rejected the commit of an old epoch');
  assert.equal(q.ownCommitsDiscarded, 1, "Olga's commit discarded Quinn's");
  assert.equal(q.pending, null);
  snaps = await mediaFlows(members, snaps);

  // Pete leaves: his page closes; Olga removes him.
  await pete.context.close();
  members = [olga, quinn];
  snaps = await meetAt(members, 5);
  snaps = await mediaFlows(members, snaps);

  // Rita joins.
  const rita = await join('rita', 'desktop-windows');
  members = [olga, quinn, rita];
  snaps = await meetAt(members, 6);
  snaps = await mediaFlows(members, snaps);
  await olga.page.screenshot({ path: fileURLToPath(new URL('../../test-results/meeting-olga.png', import.meta.url)) });

  // Every page saw each of its epochs with the others' code; a new code each epoch.
  const codes = codesAgree(snaps);
  assert.deepEqual([...codes.keys()].sort((a, b) => a - b), [0, 1, 2, 3, 4, 5, 6]);
  assert.equal(new Set([...codes.values()].map((c) => c.code)).size, 7);
  assert.deepEqual(snaps.find((s) => s.name === 'olga').epochs.map((e) => e.epoch), [0, 1, 2, 3, 4, 5, 6]);
  assert.deepEqual(snaps.find((s) => s.name === 'rita').epochs.map((e) => e.epoch), [6]);

  for (const s of snaps) {
    // Frames from every other current member opened and decoded.
    for (const m of members) {
      if (m.name !== s.name) assert.ok(s.frames[m.name] > 0, `${s.name} opened frames from ${m.name}`);
    }
    assert.ok(s.stats.decryptedByKind.video > 0 && s.stats.decryptedByKind.audio > 0, show(s.stats.decryptedByKind));
    assert.equal(s.stats.encryptFailures, 0, `${s.name}: ${show(s.stats.failuresByCode)}`);
    // Decrypt failures: only frames of the epoch before a joiner's first,
    // sent by a member that had not yet processed the commit that added it
    // and delivered after the Welcome; a joiner never had those keys. They
    // arrive within the grace time after joining. The organizer created
    // the meeting: it has every epoch's keys and fails none.
    assert.equal(s.stats.decryptFailures, s.openFailures.length, `${s.name}: every failure is a frame the page opened`);
    if (s.name === 'olga') assert.deepEqual(s.openFailures, []);
    for (const f of s.openFailures) {
      assert.equal(f.code, 'unknown-key-id', `${s.name}: ${show(f)}`);
      assert.ok(f.sinceJoinMs !== null && f.sinceJoinMs <= GRACE_MS, `${s.name}: ${show(f)}`);
    }
    console.log(`${s.name}: ${show({ epochs: s.epochs.length, frames: s.frames, openFailures: s.openFailures.length, held: s.stats.held, meeting: s.stats.meeting, duplicates: s.stats.duplicates })}`);
  }
});

test('no page error was logged', () => {
  assert.deepEqual(stage.pageErrors, []);
});
