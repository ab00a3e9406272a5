// `callseal` for browsers and bundlers: `await init()` once, then use the
// classes (frames, media mode, 1:1 calls, policy). Meetings are in
// `callseal/meetings`. The declarations of the classes and of the objects
// they return are generated from the Rust code (callseal.d.ts).
export * from './callseal.js';
export { default, default as init } from './callseal.js';
export { CallsealError } from './errors.js';
export type { ErrorCode } from './errors.js';
