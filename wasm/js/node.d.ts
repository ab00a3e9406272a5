// Entry for Node: the module is ready on import (init() is then a no-op).
export {
  CallSession,
  FrameReceiver,
  FrameSender,
  IdentityKeyPair,
  IdentityStore,
  MediaReceiver,
  MediaSender,
  MediaUpdate,
  MeetingClient,
  MeetingSession,
  MemberKeyStore,
  PolicyDocument,
  checkCallFeature,
  checkMeetingFeature,
  initiateCallWithPolicy,
  respondToCallWithPolicy,
  version,
  initSync,
} from './callseal.js';
// The declarations of the objects callseal returns (generated from the Rust
// structs that build them) and of its options and string unions.
export type * from './callseal.js';
export { default, default as init } from './callseal.js';
export { CallsealError, ErrorCode } from './errors.js';
