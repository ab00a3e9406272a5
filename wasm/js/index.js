// The callseal package for browsers and bundlers: call `await init()` once
// (it fetches callseal_bg.wasm next to this file, or takes a URL, Response
// or compiled module), then use the classes.
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
  default,
  default as init,
} from './callseal.js';
export { CallsealError } from './errors.js';
