// One member of an end-to-end encrypted meeting between browsers, through
// `callseal relay` (docs/RELAY.md §5): open meeting.html?name=olga&room=standup
// in one window and the same with other names in others (`relay=ws://HOST:PORT`,
// default ws://127.0.0.1:8765; `platform=`, default desktop-mac: the policy
// refuses `web`).
//
// The meeting runs in this page's meeting worker (E2eeWorker({ meetings:
// true })): its MLS state and keys never reach this thread, which carries
// bytes through the relay:
// - the first member of the room creates the meeting;
// - the others `broadcast` a key package; the committer (the organizer)
//   adds every member of the room it has a key package for, and removes
//   the members that left the room, in one commit through the relay's
//   ordered `commit`; once the relay delivers it back, `commitAccepted`
//   and the Welcome goes to the joiners by `signal`;
// - `commit-rejected` (another commit won the epoch): the winner is
//   processed (it arrives first) and the commit made again if still needed;
// - every member handles the others' commits as the relay delivers them.
// Media: the camera and microphone, sealed by the worker with the meeting's
// keys, go to `#room` as relay frames (relay-media.js); frames are opened
// and decoded per sender.
//
// The member keys seen and verified are kept in localStorage (the worker's
// MemberKeyStore JSON, from its `member-store` events), so a member verified
// once shows as known-verified in the next meeting.
//
// `window.meetingPage` is what wasm/test/relay/meeting.test.mjs drives.
import { E2eeWorker } from '../pkg/webrtc.js';
import { RelayClient, fromBase64, toBase64 } from './relay-client.js';
import { relayMedia } from './relay-media.js';

const params = new URLSearchParams(location.search);
const name = params.get('name') || `guest-${Math.floor(Math.random() * 1e6)}`;
const room = params.get('room') || 'meeting';
const relayUrl = params.get('relay') || 'ws://127.0.0.1:8765';
const platform = params.get('platform') || 'desktop-mac';

const $ = (id) => document.getElementById(id);
const show = (v) => JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? String(x) : x));

const state = {
  started: false,
  inMeeting: false,
  ended: null,
  status: null,
  roster: [],
  // Every epoch this page reached, with its code, in order.
  epochs: [],
  // Relay names in the room (this page included).
  members: new Set(),
  // Key packages announced by members not in the meeting: name → bytes.
  keyPackages: new Map(),
  // Our commit waiting for the relay's order: { epoch, joiners, welcome, selfUpdate }.
  pending: null,
  wantSelfUpdate: false,
  commitsRejected: 0,
  ownCommitsDiscarded: 0,
  // Commits that arrived before our Welcome: { epoch, commit }.
  early: [],
  joinedAt: null,
  epochAt: null,
  // Per sender: frames opened, and video frames / audio chunks decoded.
  frames: {},
  decoded: {},
  // Frames that did not open: { code, from, epoch, sinceJoinMs, sinceEpochMs }.
  openFailures: [],
  error: null,
  events: [],
};
let e2ee;
let relay;
let policy = null;
let local = null;
let stopMedia = null;

// Relay events and commits are handled one at a time, in arrival order.
let chain = Promise.resolve();
let held = null;
function enqueue(fn) {
  const wait = held;
  chain = chain
    .then(() => wait)
    .then(fn)
    .catch((err) => {
      state.error = `${(err && err.code) || 'error'}: ${(err && err.message) || err}`;
      render();
    });
  return chain;
}

function render() {
  const s = state.status;
  $('me').textContent = `${name} (${platform})`;
  $('room').textContent = room;
  $('epoch').textContent = s ? String(s.epoch) : '—';
  $('role').textContent = state.ended ? `meeting ended: ${state.ended}` : s ? s.role : 'not in the meeting';
  $('code').textContent = (s && s.code) || '—';
  $('error').textContent = state.error || '';
  $('join').disabled = state.started;
  $('leave').disabled = !state.inMeeting;
  $('verify').disabled = !state.inMeeting;
  const list = $('roster');
  list.replaceChildren(
    ...state.roster.map((e) => {
      const li = document.createElement('li');
      const got = state.decoded[e.member.user];
      const media = e.member.user === name ? 'you' : got ? `${got.video} video, ${got.audio} audio decoded` : 'no media yet';
      li.textContent = `${e.member.user} (${e.member.platform}, ${e.member.role}): ${e.status} — ${media}`;
      return li;
    }),
  );
}

const isCommitter = () => state.inMeeting && state.status && state.status.role !== 'participant';
const rosterUsers = () => new Set(state.roster.map((e) => e.member.user));

// ---- commits --------------------------------------------------------------

// A committer's next commit, if one is needed and none is pending: adds the
// room's members we have key packages for, removes the meeting's members
// that left the room; or our self-update.
async function commitIfNeeded() {
  if (!state.inMeeting || state.pending || state.ended) return;
  const epoch = state.status.epoch;
  let messages;
  let joiners = [];
  let selfUpdate = false;
  if (isCommitter()) {
    const inMeeting = rosterUsers();
    joiners = [...state.keyPackages.keys()].filter((n) => state.members.has(n) && !inMeeting.has(n));
    const gone = [...inMeeting].filter((n) => n !== name && !state.members.has(n));
    if (joiners.length || gone.length) {
      messages = await e2ee.changeMembership({ add: joiners.map((n) => state.keyPackages.get(n)), remove: gone });
      for (const { user, reason } of messages.refused) {
        state.keyPackages.delete(user);
        state.events.push({ type: 'refused', detail: { user, reason } });
      }
      joiners = joiners.filter((n) => !messages.refused.some((r) => r.user === n));
    }
  }
  if (!messages && state.wantSelfUpdate) {
    messages = await e2ee.selfUpdate();
    selfUpdate = true;
  }
  if (!messages) return;
  state.pending = { epoch, joiners, welcome: messages.welcome, selfUpdate };
  relay.commit(room, Number(epoch), { mls: toBase64(messages.commit) });
}

// A commit the relay ordered (ours included: that is how we learn it won).
async function onCommit({ from, epoch, data }) {
  const commit = fromBase64(data.mls);
  if (!state.inMeeting) {
    if (!state.ended) state.early.push({ epoch, commit });
    return;
  }
  if (from === name && state.pending && epoch === Number(state.pending.epoch)) {
    const { joiners, welcome, selfUpdate } = state.pending;
    state.pending = null;
    await e2ee.commitAccepted();
    if (selfUpdate) state.wantSelfUpdate = false;
    for (const joiner of joiners) {
      state.keyPackages.delete(joiner);
      relay.signal(joiner, { welcome: toBase64(welcome), room });
    }
  } else if (from !== name) {
    if (epoch < Number(state.status.epoch)) return; // applied already (caught up)
    const { changes } = await e2ee.handleCommit(commit);
    for (const change of changes) {
      if (change.ownCommitDiscarded) {
        // The relay will reject ours: it is gone already.
        state.ownCommitsDiscarded += 1;
        state.pending = null;
      }
    }
  }
  await refresh();
  await commitIfNeeded();
}

async function onCommitRejected({ epoch }) {
  state.commitsRejected += 1;
  if (state.pending && epoch === Number(state.pending.epoch)) {
    state.pending = null;
    await e2ee.commitRejected();
  }
  await refresh();
  await commitIfNeeded();
}

async function refresh() {
  const { status } = await e2ee.meetingStatus();
  state.status = status;
  if (status && state.inMeeting) state.roster = await e2ee.meetingRoster();
  render();
}

// ---- joining --------------------------------------------------------------

async function onRoom({ members, epoch }) {
  state.members = new Set(members);
  if (members.length === 1 && members[0] === name && epoch === null) {
    // The first member: the meeting is ours to create.
    await e2ee.createMeeting({ user: name, platform, policy });
    joined();
  } else {
    const { keyPackage } = await e2ee.meetingKeyPackage({ user: name, platform });
    relay.broadcast(room, { keyPackage: toBase64(keyPackage) });
  }
  await refresh();
}

async function onWelcome(from, data) {
  if (state.inMeeting || data.room !== room) return;
  await e2ee.joinMeeting({ welcome: fromBase64(data.welcome), policy });
  joined();
  await refresh();
  // Commits the relay delivered before the Welcome, from our epoch on.
  for (const { epoch, commit } of state.early.splice(0)) {
    if (epoch >= Number(state.status.epoch)) await e2ee.handleCommit(commit);
  }
  await refresh();
  await commitIfNeeded();
}

function joined() {
  state.inMeeting = true;
  state.joinedAt = performance.now();
}

async function start(signedPolicy) {
  if (state.started) return;
  state.started = true;
  policy = signedPolicy || (await demoPolicy());
  render();
  local = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 320, height: 240, frameRate: 15 } });
  $('local').srcObject = local;
  stopMedia = relayMedia({
    e2ee,
    relay,
    local,
    to: `#${room}`,
    // Frames from members of our meeting only: others are not ours to open.
    accept: (from) => state.inMeeting && !state.ended && rosterUsers().has(from),
    onFrame: (codec, from) => {
      if (codec) state.frames[from] = (state.frames[from] || 0) + 1;
    },
    onDecoded: (kind, from) => {
      const d = (state.decoded[from] ||= { video: 0, audio: 0 });
      d[kind] += 1;
    },
    onOpenFailure: (code, from) => {
      const t = performance.now();
      state.openFailures.push({
        code,
        from,
        epoch: state.status ? Number(state.status.epoch) : null,
        sinceJoinMs: state.joinedAt === null ? null : Math.round(t - state.joinedAt),
        sinceEpochMs: state.epochAt === null ? null : Math.round(t - state.epochAt),
      });
    },
    onError: (message) => (state.error = message),
  });
  relay.join(room);
  // The roster's media counts move with every frame: redrawn each second.
  setInterval(render, 1000);
}

async function leave() {
  if (stopMedia) stopMedia();
  stopMedia = null;
  await e2ee.leaveMeeting();
  state.inMeeting = false;
  relay.leave(room);
  await refresh();
}

// The demo's policy when none is given: end-to-end encrypted meetings,
// signed in this page by a throwaway admin key (the same in every window).
async function demoPolicy() {
  const { default: init, PolicyDocument, PolicySigningKey } = await import('../pkg/index.js');
  await init();
  const admin = PolicySigningKey.fromBytes(new Uint8Array(32).fill(0x42));
  const doc = PolicyDocument.fromJson(JSON.stringify({
    version: 1,
    policies: [{ Identity: 'Global', CallingEndtoEndEncryptionEnabledType: 'Disabled', MeetingEndToEndEncryption: 'DisabledUserOverride', Description: '' }],
  }));
  const signed = admin.sign(doc, 1, 1796169600);
  return { signed, tenantKey: admin.tenantKey(), lastSeenSerial: 0 };
}

async function setUp() {
  e2ee = new E2eeWorker({ meetings: true });
  await e2ee.ready();
  // The member keys this browser has seen (and verified), across meetings.
  const saved = `callseal-members-${name}`;
  await e2ee.useMemberStore(localStorage.getItem(saved));
  e2ee.addEventListener('member-store', (event) => localStorage.setItem(saved, event.detail.store));
  for (const type of ['meeting-epoch', 'roster', 'meeting-ended', 'member-store', 'decrypt-failed', 'missing-key']) {
    e2ee.addEventListener(type, (event) => {
      state.events.push({ type, detail: event.detail });
      if (type === 'meeting-epoch') {
        state.epochs.push({ epoch: Number(event.detail.epoch), code: event.detail.code });
        state.epochAt = performance.now();
      }
      if (type === 'roster') state.roster = event.detail.roster;
      if (type === 'meeting-ended') state.ended = event.detail.reason;
      render();
    });
  }
  relay = await RelayClient.connect(relayUrl, name);
  const on = (type, fn) => relay.addEventListener(type, (event) => enqueue(() => fn(event.detail)));
  on('room', (m) => (m.room === room ? onRoom(m) : undefined));
  on('member-joined', (m) => {
    if (m.room === room) state.members.add(m.name);
  });
  on('member-left', async (m) => {
    if (m.room !== room) return;
    state.members.delete(m.name);
    state.keyPackages.delete(m.name);
    await commitIfNeeded();
  });
  on('broadcast', async (m) => {
    if (m.room !== room || typeof m.data.keyPackage !== 'string') return;
    state.keyPackages.set(m.from, fromBase64(m.data.keyPackage));
    await commitIfNeeded();
  });
  on('commit', (m) => (m.room === room ? onCommit(m) : undefined));
  on('commit-rejected', (m) => (m.room === room ? onCommitRejected(m) : undefined));
  on('signal', (m) => (typeof m.data.welcome === 'string' ? onWelcome(m.from, m.data) : undefined));
  on('error', (m) => {
    state.events.push({ type: 'relay-error', detail: m });
  });
  $('join').onclick = () => start().catch((err) => (state.error = String(err)));
  $('leave').onclick = () => enqueue(leave);
  $('verify').onclick = () => enqueue(async () => {
    state.roster = await e2ee.markCodeVerified(state.status.code);
    render();
  });
  render();
}

window.meetingPage = {
  ready: setUp().then(
    () => true,
    (err) => {
      state.error = String((err && err.message) || err);
      render();
      throw err;
    },
  ),
  /** Joins the room under `policy` (`{ signed, tenantKey, lastSeenSerial }`). */
  start,
  /** Leaves the meeting and the room (a committer then removes us). */
  leave: () => enqueue(leave),
  /** Commits a self-update of our leaf (again after a rejection, until one is ordered). */
  selfUpdate: () => {
    state.wantSelfUpdate = true;
    // Not through the chain: a test holds the chain to make this commit lose.
    return commitIfNeeded();
  },
  /** Test hook: relay events wait (in order) until `release()`. */
  hold() {
    let release;
    held = new Promise((resolve) => (release = resolve));
    held.release = release;
  },
  release() {
    const h = held;
    held = null;
    if (h) h.release();
    return chain;
  },
  async snapshot() {
    if (!held) await chain;
    const status = (await e2ee.meetingStatus()).status;
    return JSON.parse(show({
      name,
      inMeeting: state.inMeeting,
      ended: state.ended,
      epoch: status ? Number(status.epoch) : null,
      code: status ? status.code : null,
      role: status ? status.role : null,
      members: state.roster.map((e) => e.member.user),
      statuses: Object.fromEntries(state.roster.map((e) => [e.member.user, e.status])),
      epochs: state.epochs,
      frames: state.frames,
      decoded: state.decoded,
      openFailures: state.openFailures,
      commitsRejected: state.commitsRejected,
      ownCommitsDiscarded: state.ownCommitsDiscarded,
      pending: state.pending ? Number(state.pending.epoch) : null,
      events: state.events.map((e) => e.type),
      error: state.error,
      stats: await e2ee.stats(),
      codeText: $('code').textContent,
      epochText: $('epoch').textContent,
    }));
  },
};
