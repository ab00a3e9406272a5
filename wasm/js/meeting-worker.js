// The callseal meeting worker: the transform worker (transform-worker.js)
// over the `callseal/meetings` module, with the meeting operations of
// meeting-core.js. Start it with `new E2eeWorker({ meetings: true })`.
//
// A meeting's MeetingSession lives here, next to the transforms: its MLS
// state and every epoch's SFrame keys stay in this WebAssembly instance;
// the page carries key packages, commits and Welcomes through its server.
// While a meeting runs, every protected sender and receiver, `seal` and
// `open` use its keys; calls and page-given keys work as in the transform
// worker otherwise.
import * as api from './meetings.js';
import { createMeetingOps } from './meeting-core.js';
import { hostWorker } from './worker-host.js';

hostWorker(api, { ops: (core) => createMeetingOps(api, core) });
