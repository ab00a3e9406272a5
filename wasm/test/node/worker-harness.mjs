// The pieces the worker tests share: an in-process stand-in for the
// Worker (a transform core on this thread behind the Worker's message
// interface), encoded frames as WebRTC gives them, and small helpers.
import * as api from '../../pkg/node.js';
import * as meetingsApi from '../../pkg/meetings-node.js';
import { createMeetingOps } from '../../pkg/meeting-core.js';
import { createTransformCore } from '../../pkg/transform-core.js';

export const key = (b) => new Uint8Array(16).fill(b);

export const payload = (n, fill) => new Uint8Array(n).fill(fill);

/**
 * A Worker look-alike whose other side is a transform core, in this thread.
 * `now` is the core's clock (default: performance.now); the core's events
 * arrive as message events, as the real worker posts them. With
 * `meetings: true` it is the meeting worker: the `callseal/meetings` entry
 * and meeting-core.js's operations (on the same clock, when given).
 */
export function inProcessWorker({ now, meetings = false } = {}) {
  const listeners = [];
  const deliver = (data) => {
    for (const l of listeners) l({ data });
  };
  const used = meetings ? meetingsApi : api;
  const core = createTransformCore(used, {
    ...(now ? { now } : {}),
    emit: (event, detail) => queueMicrotask(() => deliver({ event, detail })),
  });
  const extra = Object.assign(
    Object.create(null),
    meetings ? createMeetingOps(used, core, now ? { now } : {}) : null,
    { stream: () => ({ ok: true }) },
  );
  const posted = [];
  return {
    core,
    posted,
    // The other side's reply arrives as a message event, asynchronously.
    postMessage(data, transfer = []) {
      posted.push({ data, transfer });
      core.handle(data, extra).then(deliver);
    },
    addEventListener(type, l) {
      if (type === 'message') listeners.push(l);
    },
    emit: deliver,
    terminate() {},
  };
}

/** An encoded frame as WebRTC gives it to a transform. */
export function encodedFrame(bytes, { kind = 'video', mimeType = kind === 'video' ? 'video/VP8' : 'audio/opus' } = {}) {
  const frame = {
    data: new Uint8Array(bytes).buffer,
    getMetadata: () => ({ mimeType }),
  };
  if (kind === 'video') frame.type = 'delta';
  return frame;
}

/** Runs frames through one transform function; returns what it enqueued. */
export function run(fn, frames) {
  const out = [];
  for (const f of frames) fn(f, { enqueue: (x) => out.push(x), terminate: () => out.push('terminated') });
  return out;
}
