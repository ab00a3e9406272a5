import type { CallState, Ignored, Indicator, PeerStatus } from './callseal.js';

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
  /** The 32-byte identity secret (default: a new identity for this worker). */
  identitySecret?: Uint8Array;
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

/** `protectReceiver`'s options. */
export interface ReceiverOptions {
  /** RTP payload type → MIME type, where frame metadata lacks `mimeType`. */
  payloadTypes?: Record<number, string>;
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
  /** A worker already running transform-worker.js. */
  worker?: Worker;
  /** Where transform-worker.js is (default: next to webrtc.js). */
  workerUrl?: string | URL;
  /** Force a path; default: script-transform where available. */
  mode?: 'script-transform' | 'encoded-streams';
  /** How long an attach waits for the worker's confirmation (default 10000 ms). */
  attachTimeoutMs?: number;
}

/** The main-thread side of the callseal transform worker. */
export declare class E2eeWorker {
  constructor(options?: E2eeWorkerOptions);
  readonly mode: 'script-transform' | 'encoded-streams';
  readonly worker: Worker;
  ready(): Promise<{ ok: true }>;
  protectSender(sender: RTCRtpSender, options?: { payloadTypes?: Record<number, string> }): Promise<void>;
  protectReceiver(receiver: RTCRtpReceiver, options?: ReceiverOptions): Promise<void>;
  protectTransceiver(transceiver: RTCRtpTransceiver, options?: ReceiverOptions): Promise<void>;
  /** Whether a protect call resolved for this sender or receiver. */
  isProtected(target: RTCRtpSender | RTCRtpReceiver): boolean;
  setSenderKey(key: SenderKey): Promise<{ ok: true }>;
  senderState(): Promise<SenderState>;
  addReceiverKey(key: FrameKey): Promise<{ ok: true }>;
  removeReceiverKey(kid: bigint | number): Promise<boolean>;
  startCall(options: StartCallOptions): Promise<CallStep>;
  answerCall(options: AnswerCallOptions): Promise<CallStep>;
  handleSignal(message: Uint8Array): Promise<SignalStep>;
  rekeyCall(): Promise<CallStep>;
  rekeyDue(): Promise<boolean>;
  markVerified(): Promise<{ status: CallStatus }>;
  callStatus(): Promise<CallStatus | null>;
  ratchet(): Promise<{ kid: bigint }>;
  stats(): Promise<TransformStats>;
  terminate(): void;
}
