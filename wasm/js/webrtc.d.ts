import type { CallState, Ignored, Indicator, PeerStatus } from './callseal.js';
import type { ErrorCode } from './errors.js';
import type { EpochChange, MeetingMember, Refusal, Role, RosterEntry } from './meetings/callseal.js';

/** Whether this browser has RTCRtpScriptTransform. */
export declare function hasScriptTransform(): boolean;

/** What the call UI shows, as the worker's call session reports it. */
export interface CallStatus {
  state: CallState;
  indicator: Indicator;
  securityCode: string | null;
  peerStatus: PeerStatus | null;
  peerUid: string | null;
  /** 0 after the handshake, n after rekey n. */
  epoch: number;
  /** Whether this side's rekey offer waits for its answer. */
  rekeyPending: boolean;
}

/** A signalling step: the message to send to the peer (or null) and the status. */
export interface CallStep {
  message: Uint8Array | null;
  status: CallStatus | null;
  /** Under a policy: why the call is not end-to-end encrypted (then `message` and `status` are null). */
  notEndToEndEncrypted?: string;
  /** Under a policy: the verified document's serial, the next `lastSeenSerial`. */
  policySerial?: number;
}

/** A signed policy document for the worker to verify (docs/POLICY.md). */
export interface SignedPolicy {
  /** The signed envelope, its exact bytes. */
  signed: Uint8Array;
  /** The tenant's Ed25519 public key (32 bytes). */
  tenantKey: Uint8Array;
  /** The highest serial accepted before (default 0): an older document is a `replay`. */
  lastSeenSerial?: number;
}

/** What `handleSignal` gave: also why a message changed nothing, if it did not. */
export interface SignalStep extends CallStep {
  ignored: Ignored | null;
}

/** `startCall`'s options (CallSession.initiate's, plus the identity). */
export interface StartCallOptions {
  uid: string;
  peerUid: string;
  suite?: number;
  allowShortTags?: boolean;
  rekeyEveryMs?: number;
  peerIdentity?: Uint8Array;
  /** The 32-byte identity secret (default: the one `useIdentity` gave, else a new one). */
  identitySecret?: Uint8Array;
  /** Decide the call under this signed policy (see `E2eeWorker.startCall`). */
  policy?: SignedPolicy;
  /** Refuse (`policy-forbids`) instead of reporting a plain call. */
  requireE2ee?: boolean;
}

/** `answerCall`'s options (CallSession.respond's, plus the identity). */
export interface AnswerCallOptions {
  uid: string;
  commit: Uint8Array;
  expectedPeerUid?: string;
  expectedPeerIdentity?: Uint8Array;
  allowShortTags?: boolean;
  rekeyEveryMs?: number;
  identitySecret?: Uint8Array;
  /** Answer only if this signed policy makes the call end-to-end encrypted (needs `expectedPeerUid`). */
  policy?: SignedPolicy;
}

/** A key for `setSenderKey` / `addReceiverKey`. */
export interface FrameKey {
  /** RFC 9605 cipher suite number, 1–8. */
  suite: number;
  kid: bigint | number;
  /** Copied to the worker, which wipes its copy once used. */
  baseKey: Uint8Array;
}

/** A sender key, possibly resumed from a saved counter. */
export interface SenderKey extends FrameKey {
  /**
   * The counter of the first frame: required to use a key id this worker
   * already sent under, and then at least its `senderState().nextCounter`.
   */
  startingAt?: bigint | number;
}

/** The sender's key id and the counter of its next frame. */
export interface SenderState {
  kid: bigint | null;
  nextCounter: bigint | null;
}

/** `protectSender`'s options. */
export interface SenderOptions {
  /** RTP payload type → MIME type, where frame metadata lacks `mimeType`. */
  payloadTypes?: Record<number, string>;
  /** The MIME type of frames that carry neither (Safari's video frames), e.g. `video/VP8`. */
  codec?: string;
}

/** `protectReceiver`'s options. */
export interface ReceiverOptions extends SenderOptions {
  /** The only key ids this receiver accepts (default: every key the worker has). */
  kids?: Iterable<bigint | number>;
  /** The media kind it accepts (default: its track's kind). */
  kind?: 'audio' | 'video';
}

/** The worker's counters. */
export interface TransformStats {
  encrypted: number;
  decrypted: number;
  encryptFailures: number;
  decryptFailures: number;
  droppedWithoutKey: number;
  /** Authentic frames dropped on a track they do not belong to (key id or media kind). */
  misrouted: number;
  misroutedByKind: { audio: number; video: number };
  failuresByCode: Record<string, number>;
  encryptedByCodec: Record<string, number>;
  decryptedByCodec: Record<string, number>;
  decryptedByKind: { audio: number; video: number };
  decryptFailuresByKind: { audio: number; video: number };
  /** Frames under a counter already accepted (WebRTC retransmissions): dropped quietly, not failures. */
  duplicates: number;
  duplicatesByKind: { audio: number; video: number };
  /** Frames a meeting held for an epoch not reached yet: dropped by transforms (`open` answers `held`), not failures. */
  held: number;
  /** The meeting worker's counters (a worker with meetings only). */
  meeting?: {
    /** Epoch changes applied (commits accepted, handled or caught up). */
    epochChanges: number;
    /** Held frames an epoch change released (already dropped: counted only). */
    released: number;
    /** Our commits the server ordered after another one (`commitRejected`). */
    commitsRejected: number;
  };
  /** Transform streams that ended in error (each also a `stream-error` event). */
  streamErrors: number;
  /** Signalling messages the call ignored, by reason. */
  ignoredSignals: Partial<Record<Ignored, number>>;
  /** Rekey steps whose keys were installed. */
  rekeys: number;
  /** Requests naming no operation of the worker. */
  rejectedOps: number;
  /** Frames whose AES-GCM ran in WebCrypto (from WEBCRYPTO_MIN_BYTES up); the others ran in WebAssembly. */
  webCrypto: { encrypted: number; decrypted: number };
  /** Senders and receivers attached to this worker. */
  transforms: { send: number; receive: number };
}

export interface E2eeWorkerOptions {
  /** A worker already running transform-worker.js (or meeting-worker.js). */
  worker?: Worker;
  /** Where transform-worker.js (or meeting-worker.js) is (default: next to webrtc.js). */
  workerUrl?: string | URL;
  /** Start meeting-worker.js: the transform worker with meetings (loads `callseal/meetings`). */
  meetings?: boolean;
  /** Force a path; default: script-transform where available. */
  mode?: 'script-transform' | 'encoded-streams';
  /** How long an attach waits for the worker's confirmation (default 10000 ms). */
  attachTimeoutMs?: number;
}

/** An identity store's JSON: peer uid → its key (64 hex digits) and whether it was verified. */
export type StoreJson = Record<string, { key: string; verified: boolean }>;

/** The details of the worker's events, by event type. */
export interface E2eeWorkerEventMap {
  /** The call's state, indicator, peer status, epoch or pending rekey changed. */
  state: CallStatus;
  /** A new security code to show. */
  code: { securityCode: string; peerUid: string | null };
  /** The peer's identity key is not the one remembered (a new device, or an attack). */
  'peer-changed': { peerUid: string | null; status: CallStatus };
  /** The identity store changed: persist it (`useKeyring` does). */
  store: { store: StoreJson; changed: StoreJson };
  /** Frames failed to decrypt (at most one event per code and kind a second; `count` since the last). */
  'decrypt-failed': { code: ErrorCode; kind: 'audio' | 'video'; message: string; count: number };
  /** Frames under a key id the worker has no key for (at most one event per media kind a second, naming the first key id). */
  'missing-key': { kid: bigint | null; kind: 'audio' | 'video'; count: number };
  /** A transform's stream ended in error: protect the sender or receiver again (a new transceiver with `encoded-streams`). */
  'stream-error': { side: 'send' | 'receive'; token: number | null; message: string };
  /** A `useKeyring` save failed. */
  'storage-error': { message: string };
  /** The meeting reached an epoch (its first included): the code to show. */
  'meeting-epoch': { epoch: bigint; code: string; added: string[]; removed: number[] };
  /** The meeting's members and their identity statuses, after an epoch change or a verification. */
  roster: { roster: RosterEntry[] };
  /** The worker's MemberKeyStore changed: persist this JSON text (`useMemberStore` restores it). */
  'member-store': { store: string };
  /** This member was removed by a commit, or left. */
  'meeting-ended': { reason: 'removed' | 'left'; epoch: bigint };
}

/** A meeting as the worker reports it. */
export interface MeetingStatus {
  epoch: bigint;
  /** The meeting code of this epoch (20 digits in groups of five). */
  code: string;
  role: Role;
  /** Whether a commit removed this member. */
  removed: boolean;
  /** The epoch from which commits are missing while later ones wait, else null. */
  missingCommitsFrom: bigint | null;
}

/** A commit for the server to order, and the Welcome of its joiners (or null). */
export interface MeetingCommit {
  commit: Uint8Array;
  welcome: Uint8Array | null;
}

/** What a commit changed, as `MeetingSession` reports it, without held frames. */
export type MeetingEpochChange = Omit<EpochChange, 'released'>;

/** `createMeeting`'s options. */
export interface CreateMeetingOptions {
  user: string;
  /** Kebab-case (`desktop-mac`, `desktop-windows`, `ios`, `android`, ...): the policy refuses some. */
  platform: string;
  policy: SignedPolicy;
  /** RFC 9605 cipher suite number (default 4). */
  suite?: number;
}

/** A typed `CustomEvent` of the worker. */
export type E2eeWorkerEvent<K extends keyof E2eeWorkerEventMap> = CustomEvent<E2eeWorkerEventMap[K]>;

/** What `useKeyring` needs of a keyring: BrowserKeyring, or the app's own storage. */
export interface Keyring {
  identitySecret(): Promise<Uint8Array>;
  peers(): Promise<string | null>;
  savePeers(store: string | StoreJson): Promise<void>;
  /** Optional: apply only the changed entries, atomically (else peers() is merged and saved). */
  updatePeers?(changed: StoreJson): Promise<void>;
}

/** The app's identity and peers in IndexedDB, so continuity survives a reload. */
export declare class BrowserKeyring {
  static open(options?: { name?: string; indexedDB?: IDBFactory }): Promise<BrowserKeyring>;
  /** A copy of the identity secret (made on first use); wipe it after use. */
  identitySecret(): Promise<Uint8Array>;
  /** The peers' store JSON text saved last, or null. */
  peers(): Promise<string | null>;
  /** Applies changed entries (a `store` event's `changed`) in one transaction; other peers stay. */
  updatePeers(changed: StoreJson): Promise<void>;
  savePeers(store: string | StoreJson): Promise<void>;
  /** Forgets the identity: a new one is made next time. */
  forgetIdentity(): Promise<void>;
  close(): void;
}

/** The main-thread side of the callseal transform worker. */
export declare class E2eeWorker extends EventTarget {
  constructor(options?: E2eeWorkerOptions);
  readonly mode: 'script-transform' | 'encoded-streams';
  readonly worker: Worker;
  ready(): Promise<{ ok: true }>;
  addEventListener<K extends keyof E2eeWorkerEventMap>(
    type: K,
    listener: (event: E2eeWorkerEvent<K>) => void,
    options?: boolean | AddEventListenerOptions,
  ): void;
  addEventListener(type: string, listener: EventListenerOrEventListenerObject | null, options?: boolean | AddEventListenerOptions): void;
  protectSender(sender: RTCRtpSender, options?: SenderOptions): Promise<void>;
  protectReceiver(receiver: RTCRtpReceiver, options?: ReceiverOptions): Promise<void>;
  protectTransceiver(transceiver: RTCRtpTransceiver, options?: ReceiverOptions): Promise<void>;
  /** Whether a protect call resolved for this sender or receiver. */
  isProtected(target: RTCRtpSender | RTCRtpReceiver): boolean;
  /** Detaches the worker (a sender loses its track first); whether it was protected. */
  unprotect(target: RTCRtpSender | RTCRtpReceiver): Promise<boolean>;
  /** The app's identity secret and its peers' store, for the calls to come. */
  useIdentity(options: { identitySecret: Uint8Array; store?: string | StoreJson }): Promise<{ publicKey: Uint8Array }>;
  /** Identity and peers from a BrowserKeyring, and every change saved back. */
  useKeyring(keyring: Keyring): Promise<{ publicKey: Uint8Array }>;
  /** The worker's identity store. */
  exportStore(): Promise<StoreJson>;
  setSenderKey(key: SenderKey): Promise<{ ok: true }>;
  senderState(): Promise<SenderState>;
  addReceiverKey(key: FrameKey): Promise<{ ok: true }>;
  removeReceiverKey(kid: bigint | number): Promise<boolean>;
  startCall(options: StartCallOptions): Promise<CallStep>;
  /** The verified policy's decision about a call, without starting one. */
  decideCall(options: { uid: string; peerUid: string; policy: SignedPolicy }): Promise<{ e2ee: boolean; reason: string | null; policySerial: number }>;
  /** Encrypts one frame the app moves itself, with the worker's sender. */
  seal(options: { codec: string; payload: Uint8Array }): Promise<{ frame: Uint8Array }>;
  /**
   * Decrypts one frame the app moves itself, with the worker's receiver. In a
   * meeting: `kid` and `sender` are the sender's leaf index, `counter` null;
   * a frame of an epoch not reached yet answers `{ held: true }` (nulls).
   */
  open(options: { frame: Uint8Array; kind?: 'audio' | 'video'; kids?: Iterable<bigint | number> }): Promise<
    | { codec: string; kid: bigint; counter: bigint | null; payload: Uint8Array; sender?: number; held?: undefined }
    | { held: true; codec: null; kid: null; counter: null; payload: null }
  >;
  answerCall(options: AnswerCallOptions): Promise<CallStep>;
  handleSignal(message: Uint8Array): Promise<SignalStep>;
  rekeyCall(): Promise<CallStep>;
  rekeyDue(): Promise<boolean>;
  markVerified(): Promise<{ status: CallStatus }>;
  callStatus(): Promise<CallStatus | null>;
  ratchet(): Promise<{ kid: bigint }>;
  stats(): Promise<TransformStats>;
  terminate(): void;

  // Meetings: a worker started with `{ meetings: true }` (else `invalid-argument`).
  /** Starts a meeting as its organizer under the signed policy. */
  createMeeting(options: CreateMeetingOptions): Promise<{ status: MeetingStatus; policySerial: number }>;
  /** A key package to publish (the worker keeps its private keys for `joinMeeting`). */
  meetingKeyPackage(options: { user: string; platform: string }): Promise<{ keyPackage: Uint8Array; signatureKey: Uint8Array }>;
  /** Joins from the Welcome made for our key package. */
  joinMeeting(options: { welcome: Uint8Array; policy: SignedPolicy }): Promise<{ status: MeetingStatus; policySerial: number }>;
  /** A committer adds and removes members in one commit. */
  changeMembership(options: { add?: Uint8Array[]; remove?: string[] }): Promise<MeetingCommit & { refused: Refusal[] }>;
  addMembers(keyPackages: Uint8Array[]): Promise<MeetingCommit & { refused: Refusal[] }>;
  removeMembers(users: string[]): Promise<MeetingCommit & { refused: Refusal[] }>;
  /** A commit of our own leaf. */
  selfUpdate(): Promise<MeetingCommit>;
  /** The server ordered our commit. */
  commitAccepted(): Promise<{ change: MeetingEpochChange; status: MeetingStatus }>;
  /** The server ordered another commit first: ours is dropped. */
  commitRejected(): Promise<{ status: MeetingStatus }>;
  /** Another member's commit, as the server ordered it. */
  handleCommit(commit: Uint8Array): Promise<{ changes: MeetingEpochChange[]; status: MeetingStatus }>;
  /** Commits from `missingCommitsFrom` on, in order. */
  catchUp(commits: Uint8Array[]): Promise<{ changes: MeetingEpochChange[]; status: MeetingStatus }>;
  /** Leaves: the meeting's keys are dropped at once. */
  leaveMeeting(): Promise<{ left: boolean }>;
  meetingStatus(): Promise<{ status: MeetingStatus | null; updateDue: boolean }>;
  /** The members with identity statuses against the worker's MemberKeyStore. */
  meetingRoster(): Promise<RosterEntry[]>;
  /** The users compared this epoch's code: every key but the `changed` ones known-verified. */
  markCodeVerified(code: string): Promise<RosterEntry[]>;
  /** The device at leaf `index` was confirmed out of band. */
  verifyMember(index: number): Promise<RosterEntry[]>;
  /** The app's saved MemberKeyStore JSON. */
  useMemberStore(store: string | null): Promise<{ ok: true }>;
  exportMemberStore(): Promise<string>;
}

export type { MeetingMember };
