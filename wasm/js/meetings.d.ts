// `callseal/meetings`: one module with everything `callseal` has (frames,
// media mode, 1:1 calls, policy) and meetings over MLS. Objects of one
// module cannot be passed to the other: an app with meetings imports
// everything from here. In a browser, `await init()` once first.
export * from './meetings/callseal.js';
export { default, default as init } from './meetings/callseal.js';
export { CallsealError } from './errors.js';
export type { ErrorCode } from './errors.js';
