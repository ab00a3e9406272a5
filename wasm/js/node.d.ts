// `callseal` in Node: the module is ready on import (`init()` is then a
// no-op). Meetings are in `callseal/meetings`.
export * from './callseal.js';
export { default, default as init } from './callseal.js';
export { CallsealError } from './errors.js';
export type { ErrorCode } from './errors.js';
