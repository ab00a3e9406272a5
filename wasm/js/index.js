// The callseal package for browsers and bundlers: call `await init()` once
// (it fetches callseal_bg.wasm next to this file, or takes a URL, Response
// or compiled module), then use the classes. Used before `init()`, every
// constructor, static method and function throws a CallsealError that says
// so (instead of a TypeError from deep inside the glue); methods of objects
// cost nothing extra, since objects exist only after `init()`.
import * as glue from './callseal.js';
import { CallsealError } from './errors.js';

let ready = false;

function notReady(name) {
  return new CallsealError(
    'internal',
    `callseal is not initialised: call \`await init()\` (or \`initSync(...)\`) once before using ${name}`,
  );
}

// A class or function of the glue, checked for `init()` on every call and
// construction (static methods included); `instanceof` and `prototype` are
// the glue's.
function guarded(name, target) {
  const check = (what) => {
    if (!ready) throw notReady(what);
  };
  return new Proxy(target, {
    apply(fn, self, args) {
      check(name);
      return Reflect.apply(fn, self, args);
    },
    construct(cls, args, newTarget) {
      check(`new ${name}()`);
      return Reflect.construct(cls, args, newTarget === guardedClasses.get(cls) ? cls : newTarget);
    },
    get(cls, prop, receiver) {
      const value = Reflect.get(cls, prop, cls);
      if (typeof value !== 'function' || typeof prop === 'symbol' || prop === 'prototype' || prop === 'constructor') {
        return value;
      }
      return function (...args) {
        check(`${name}.${prop}`);
        return Reflect.apply(value, this === receiver ? cls : this, args);
      };
    },
  });
}

const guardedClasses = new Map();
function guard(name) {
  const target = glue[name];
  const proxy = guarded(name, target);
  guardedClasses.set(target, proxy);
  return proxy;
}

export const CallSession = guard('CallSession');
export const FrameReceiver = guard('FrameReceiver');
export const FrameSender = guard('FrameSender');
export const IdentityKeyPair = guard('IdentityKeyPair');
export const IdentityStore = guard('IdentityStore');
export const MediaReceiver = guard('MediaReceiver');
export const MediaSender = guard('MediaSender');
export const MediaUpdate = guard('MediaUpdate');
export const MeetingClient = guard('MeetingClient');
export const MeetingSession = guard('MeetingSession');
export const MemberKeyStore = guard('MemberKeyStore');
export const PolicyDocument = guard('PolicyDocument');
export const checkCallFeature = guard('checkCallFeature');
export const checkMeetingFeature = guard('checkMeetingFeature');
export const initiateCallWithPolicy = guard('initiateCallWithPolicy');
export const respondToCallWithPolicy = guard('respondToCallWithPolicy');
export const version = guard('version');

/** Loads the WebAssembly module (once; later calls return the same result). */
export default async function init(input) {
  const out = await glue.default(input);
  ready = true;
  return out;
}
export { init };

/** Instantiates the module synchronously from its bytes or a compiled module. */
export function initSync(input) {
  const out = glue.initSync(input);
  ready = true;
  return out;
}

export { CallsealError };
