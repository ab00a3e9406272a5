// The callseal package for Node (ES module): the WebAssembly module is
// compiled and instantiated on import, so the classes are ready to use.
import { readFileSync } from 'node:fs';
import { initSync } from './callseal.js';

initSync({ module: readFileSync(new URL('./callseal_bg.wasm', import.meta.url)) });

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
