// The demo page: two participants side by side (see loopback.js).
import { connect, handshake, hangUp, participant, received, rekey } from './loopback.js';

const $ = (sel, root = document) => root.querySelector(sel);
const sides = { alice: $('#alice'), bob: $('#bob') };
const LABELS = {
  hidden: 'Not encrypted',
  'lock-and-shield': 'End-to-end encrypted',
  'lock-and-shield-verified': 'End-to-end encrypted · verified',
};

let call = null;
let timer = null;

function show(name, status) {
  const el = sides[name];
  const indicator = status ? status.indicator : 'hidden';
  $('.indicator', el).dataset.indicator = indicator;
  $('.label', el).textContent = LABELS[indicator];
  $('.code', el).textContent = (status && status.securityCode) || '—';
  $('.epoch', el).textContent = status ? status.epoch : '—';
  $('.verify', el).disabled = !status || status.state !== 'encrypted';
}

function verdict() {
  const [a, b] = [$('.code', sides.alice).textContent, $('.code', sides.bob).textContent];
  const el = $('#verdict');
  if (a === '—' || b === '—') return;
  const same = a === b;
  el.textContent = same
    ? 'The codes match: nobody is in the middle. Press “Codes match” on each side.'
    : 'The codes differ: someone is in the middle. Do not trust this call.';
  el.className = `verdict ${same ? 'ok' : 'bad'}`;
}

function logRelay(from, to, bytes) {
  const li = document.createElement('li');
  const hex = Array.from(bytes.slice(0, 24), (b) => b.toString(16).padStart(2, '0')).join('');
  li.textContent = `${from} → ${to}: ${bytes.length} bytes ${hex}…`;
  $('#relay-log').append(li);
}

async function refresh() {
  if (!call) return;
  for (const name of ['alice', 'bob']) {
    const stats = await call[name].e2ee.stats();
    $('.decrypted', sides[name]).textContent = stats.decrypted;
    $('.failed', sides[name]).textContent = stats.decryptFailures;
  }
}

async function start() {
  $('#start').disabled = true;
  $('#relay-log').replaceChildren();
  const mitm = $('#mitm').checked;
  const alice = await participant('alice');
  const bob = await participant('bob');
  call = { alice, bob, mitm, rekeys: 0 };
  const statuses = await handshake(alice, bob, { mitm, log: logRelay });
  show('alice', statuses.alice);
  show('bob', statuses.bob);
  verdict();
  $('video', sides.alice).srcObject = alice.remote;
  $('video', sides.bob).srcObject = bob.remote;
  await connect(alice, bob);
  timer = setInterval(refresh, 500);
  $('#hangup').disabled = false;
  // The relay in the middle does not relay rekeys; a direct call does.
  $('#rekey').disabled = mitm;
  document.body.dataset.call = mitm ? 'mitm' : 'direct';
}

function stop() {
  clearInterval(timer);
  if (call) hangUp(call.alice, call.bob);
  call = null;
  show('alice', null);
  show('bob', null);
  $('#start').disabled = false;
  $('#hangup').disabled = true;
  $('#rekey').disabled = true;
  $('#verdict').textContent = 'Press “Start call”.';
  $('#verdict').className = 'verdict';
  delete document.body.dataset.call;
}

for (const name of ['alice', 'bob']) {
  $('.verify', sides[name]).addEventListener('click', async () => {
    const { status } = await call[name].e2ee.markVerified();
    show(name, status);
  });
}
$('#start').addEventListener('click', () => start().catch((err) => {
  $('#verdict').textContent = `Error: ${err.code || ''} ${err.message}`;
  $('#verdict').className = 'verdict bad';
}));
$('#hangup').addEventListener('click', stop);
$('#rekey').addEventListener('click', async () => {
  if (!call || call.mitm) return;
  $('#rekey').disabled = true;
  try {
    // Alternate the offerer: either side may start a rekey.
    const [offerer, answerer] = call.rekeys % 2 ? [call.bob, call.alice] : [call.alice, call.bob];
    const statuses = await rekey(offerer, answerer, { log: logRelay });
    call.rekeys += 1;
    show('alice', statuses.alice);
    show('bob', statuses.bob);
  } catch (err) {
    $('#verdict').textContent = `Error: ${err.code || ''} ${err.message}`;
    $('#verdict').className = 'verdict bad';
  } finally {
    if (call) $('#rekey').disabled = false;
  }
});

// For the browser tests: what the page shows and what the peers decoded.
window.demo = {
  ready: true,
  async stats() {
    if (!call) return null;
    return {
      alice: { received: await received(call.alice.pc), worker: await call.alice.e2ee.stats() },
      bob: { received: await received(call.bob.pc), worker: await call.bob.e2ee.stats() },
    };
  },
};
