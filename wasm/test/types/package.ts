// Compiled (never run) by wasm/test/node/types.test.mjs with `tsc --noEmit
// --strict`: the shapes the package declares for the objects it returns. A
// declaration that drifts (a missing or renamed key, a snake_case key, a
// wrong field type) makes this file fail to compile.
import init, {
  CallSession,
  IdentityKeyPair,
  IdentityStore,
  MediaReceiver,
  MediaSender,
  MediaUpdate,
  MeetingClient,
  MeetingSession,
  MemberKeyStore,
  PolicyDocument,
  PolicySigningKey,
  VerifiedPolicy,
  acceptPlainCall,
  callMode,
  initiateCallWithPolicy,
  type Batch,
  type CallDecision,
  type CallMedia,
  type CallStart,
  type CallState,
  type CommitMessages,
  type DecryptedFrame,
  type EpochChange,
  type Handled,
  type IdentityStatus,
  type Ignored,
  type Indicator,
  type MeetingDecision,
  type MeetingFrame,
  type MeetingMember,
  type PeerStatus,
  type Role,
  type RosterEntry,
} from '../../pkg/meetings.js';
import * as node from '../../pkg/node.js';
import { E2eeWorker, type E2eeWorkerEvent, type MeetingEpochChange, type MeetingStatus } from '../../pkg/webrtc.js';
import type * as calls from '../../pkg/index.js';

/** True only when `A` and `B` are the same type. */
type Equal<A, B> = (<T>() => T extends A ? 1 : 2) extends (<T>() => T extends B ? 1 : 2)
  ? true
  : false;
/** Compiles only for `true`. */
function same<T extends true>(): T | void {}

// The keys of each returned object, exactly.
same<Equal<keyof CallDecision, 'e2ee' | 'reason' | 'unavailableFeatures' | 'notEndToEndEncrypted'>>();
same<Equal<
  keyof MeetingDecision,
  'e2ee' | 'reason' | 'admitted' | 'refused' | 'unavailableFeatures' | 'notEndToEndEncrypted'
>>();
same<Equal<keyof DecryptedFrame, 'codec' | 'kid' | 'counter' | 'payload'>>();
// `callseal` declares the same shapes as `callseal/meetings`, without meetings.
same<Equal<calls.DecryptedFrame, DecryptedFrame>>();
same<Equal<calls.CallDecision, CallDecision>>();
same<Equal<calls.MeetingDecision, MeetingDecision>>();
same<Equal<keyof CallStart, 'session' | 'message'>>();
same<Equal<keyof Handled, 'reply' | 'media' | 'ignored'>>();
same<Equal<keyof CallMedia, 'sender' | 'receiver'>>();
same<Equal<keyof CommitMessages, 'commit' | 'welcome'>>();
same<Equal<keyof Batch, 'messages' | 'refused'>>();
same<Equal<keyof MeetingFrame, 'sender' | 'codec' | 'payload'>>();
same<Equal<keyof MeetingMember, 'index' | 'user' | 'platform' | 'signatureKey' | 'role'>>();
same<Equal<keyof RosterEntry, 'member' | 'status'>>();
same<Equal<
  keyof EpochChange,
  | 'epoch' | 'committer' | 'selfUpdate' | 'rolesChanged' | 'organizerChanged'
  | 'ownCommitDiscarded' | 'code' | 'added' | 'removed' | 'removedSelf' | 'released'
>>();

// The field types.
same<Equal<CallDecision['e2ee'], boolean>>();
same<Equal<CallDecision['unavailableFeatures'], string[]>>();
same<Equal<CallDecision['notEndToEndEncrypted'], string[]>>();
same<Equal<MeetingDecision['refused'], { user: string; reason: string }[]>>();
same<Equal<DecryptedFrame['kid'], bigint>>();
same<Equal<DecryptedFrame['counter'], bigint>>();
same<Equal<DecryptedFrame['payload'], Uint8Array>>();
same<Equal<DecryptedFrame['codec'], string>>();
same<Equal<CallStart['session'], CallSession>>();
same<Equal<CallStart['message'], Uint8Array>>();
same<Equal<Handled['reply'], Uint8Array | null>>();
same<Equal<Handled['media'], MediaUpdate | null>>();
same<Equal<Handled['ignored'], Ignored | null>>();
same<Equal<CallMedia['sender'], MediaSender>>();
same<Equal<CallMedia['receiver'], MediaReceiver>>();
same<Equal<CommitMessages['welcome'], Uint8Array | null>>();
same<Equal<MeetingMember['role'], Role>>();
same<Equal<MeetingMember['signatureKey'], Uint8Array>>();
same<Equal<RosterEntry['status'], IdentityStatus>>();
same<Equal<EpochChange['epoch'], bigint>>();
same<Equal<EpochChange['released'], MeetingFrame[]>>();
same<Equal<EpochChange['removed'], number[]>>();

// The string unions.
same<Equal<CallState, 'negotiating' | 'encrypted' | 'verified' | 'failed'>>();
same<Equal<Indicator, 'hidden' | 'lock-and-shield' | 'lock-and-shield-verified'>>();
same<Equal<PeerStatus, 'new' | 'known' | 'known-verified' | 'changed'>>();
same<Equal<Role, 'organizer' | 'co-organizer' | 'participant'>>();
same<Equal<IdentityStatus, 'new' | 'known' | 'known-verified' | 'changed' | 'unchecked'>>();
same<Equal<
  Ignored,
  'other-session' | 'repeat' | 'handshake' | 'malformed' | 'bad-mac' | 'stale' | 'rekey-collision'
>>();

// The methods return these shapes.
export async function usage(commit: Uint8Array, frame: Uint8Array, signed: Uint8Array): Promise<void> {
  await init();
  const unsigned = new PolicyDocument();
  const admin = PolicySigningKey.generate();
  const bytes: Uint8Array = admin.sign(unsigned, 1, 1796169600);
  const doc: VerifiedPolicy = VerifiedPolicy.verify(signed, admin.tenantKey(), 0);
  const serial: number = doc.serial + doc.issuedAt;
  const copy: PolicyDocument = doc.document();
  const mode: { e2ee: boolean; reason: string } = callMode(doc.evaluateCall('alice', 'bob'), true);
  const reason: string = acceptPlainCall(copy.evaluateCall('bob', 'alice'), false);
  void bytes, serial, mode, reason;
  const call: CallDecision = doc.evaluateCall('alice', 'bob');
  const features: string[] = call.unavailableFeatures;
  // @ts-expect-error: the snake_case keys are gone.
  void call.unavailable_features;
  const meeting: MeetingDecision = doc.evaluateMeeting('alice', true, [{ user: 'bob', platform: 'web' }]);
  void features, meeting;

  const identity = IdentityKeyPair.generate();
  const store = IdentityStore.memory();
  const start: CallStart = CallSession.initiate(identity, 'alice', 'bob', { suite: 4, rekeyEveryMs: 0 });
  const answer: CallStart = CallSession.respond(identity, 'bob', commit, { expectedPeerUid: 'alice' });
  const guarded: CallStart = initiateCallWithPolicy(doc, 'bob', identity, 'alice');
  const handled: Handled = start.session.handle(answer.message, store);
  const state: CallState = start.session.state;
  const indicator: Indicator = start.session.indicator;
  const peer: PeerStatus | null = start.session.peerStatus;
  const role: Role = MeetingSession.create(new MeetingClient('olga', 'web'), doc, 4, 0).role;
  void role;
  const media: CallMedia = start.session.takeMedia();
  handled.media?.apply(media.sender, media.receiver);
  const decrypted: DecryptedFrame = media.receiver.decryptFrame(frame);
  void guarded, state, indicator, peer, decrypted;

  const session = MeetingSession.create(new MeetingClient('olga', 'web'), doc, 4, 0);
  const added: CommitMessages = session.add(new MeetingClient('pete', 'ios').keyPackage());
  const batch: Batch = session.changeMembership([], ['pete']);
  const change: EpochChange = session.commitAccepted(0);
  const changes: EpochChange[] = session.handleCommit(added.commit, 0);
  const held: MeetingFrame | null = session.decrypt(frame, 0);
  const members: MeetingMember[] = session.members();
  const roster: RosterEntry[] = session.checkIdentities(new MemberKeyStore());
  void batch, change, changes, held, members, roster;

  // The Node entry declares the same shapes.
  const fromNode: node.DecryptedFrame = decrypted;
  const decision: node.CallDecision = new node.PolicyDocument().evaluateCall('a', 'b');
  void fromNode, decision;
}

// The meeting worker's methods and events (never run).
export async function meetingWorker(policy: { signed: Uint8Array; tenantKey: Uint8Array }, bytes: Uint8Array): Promise<void> {
  const e2ee = new E2eeWorker({ meetings: true });
  const created: { status: MeetingStatus; policySerial: number } = await e2ee.createMeeting({ user: 'olga', platform: 'desktop-mac', policy });
  const { keyPackage }: { keyPackage: Uint8Array } = await e2ee.meetingKeyPackage({ user: 'pete', platform: 'ios' });
  const batch = await e2ee.changeMembership({ add: [keyPackage], remove: ['walt'] });
  const welcome: Uint8Array | null = batch.welcome;
  const refusedUser: string | undefined = batch.refused[0]?.user;
  const { change }: { change: MeetingEpochChange } = await e2ee.commitAccepted();
  const epoch: bigint = change.epoch;
  const { changes } = await e2ee.handleCommit(bytes);
  const codes: string[] = changes.map((c) => c.code);
  const roster = await e2ee.meetingRoster();
  const user: string | undefined = roster[0]?.member.user;
  const store: string = await e2ee.exportMemberStore();
  e2ee.addEventListener('meeting-epoch', (e: E2eeWorkerEvent<'meeting-epoch'>) => {
    const code: string = e.detail.code;
    void code;
  });
  e2ee.addEventListener('meeting-ended', (e: E2eeWorkerEvent<'meeting-ended'>) => {
    const reason: 'removed' | 'left' = e.detail.reason;
    void reason;
  });
  const opened = await e2ee.open({ frame: bytes });
  if (!opened.held) {
    const sender: number | undefined = opened.sender;
    void sender;
  }
  void created, welcome, refusedUser, epoch, codes, user, store;
}
