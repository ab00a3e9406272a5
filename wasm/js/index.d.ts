// Entry for browsers and bundlers: `await init()` once, then use the classes.
export {
  CallSession,
  FrameReceiver,
  FrameSender,
  IdentityKeyPair,
  IdentityStore,
  MediaReceiver,
  MediaSender,
  version,
  initSync,
  CallStart,
  CallMedia,
  CallState,
  Indicator,
  PeerStatus,
  DecryptedFrame,
  InitInput,
  InitOutput,
  SyncInitInput,
} from './callseal.js';
export { default, default as init } from './callseal.js';
export { CallsealError, ErrorCode } from './errors.js';
