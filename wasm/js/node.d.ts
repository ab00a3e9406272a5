// Entry for Node: the module is ready on import (init() is then a no-op).
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
