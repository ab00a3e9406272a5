import type { CallState, Indicator, PeerStatus } from './callseal.js';

/** Whether this browser has RTCRtpScriptTransform. */
export declare function hasScriptTransform(): boolean;

/** What the call UI shows, as the worker's call session reports it. */
export interface CallStatus {
  state: CallState;
  indicator: Indicator;
  securityCode: string | null;
  peerStatus: PeerStatus | null;
  peerUid: string | null;
}

/** A handshake step: the message to send to the peer (or null) and the status. */
export interface CallStep {
  message: Uint8Array | null;
  status: CallStatus | null;
}

/** A key for `setSenderKey` / `addReceiverKey`. */
export interface FrameKey {
  /** RFC 9605 cipher suite number, 1–8. */
  suite: number;
  kid: bigint | number;
  baseKey: Uint8Array;
}

/** The worker's counters. */
export interface TransformStats {
  encrypted: number;
  decrypted: number;
  encryptFailures: number;
  decryptFailures: number;
  droppedWithoutKey: number;
  failuresByCode: Record<string, number>;
  encryptedByCodec: Record<string, number>;
  decryptedByCodec: Record<string, number>;
  decryptedByKind: { audio: number; video: number };
}

export interface E2eeWorkerOptions {
  /** A worker already running transform-worker.js. */
  worker?: Worker;
  /** Where transform-worker.js is (default: next to webrtc.js). */
  workerUrl?: string | URL;
  /** Force a path; default: script-transform where available. */
  mode?: 'script-transform' | 'encoded-streams';
}

/** The main-thread side of the callseal transform worker. */
export declare class E2eeWorker {
  constructor(options?: E2eeWorkerOptions);
  readonly mode: 'script-transform' | 'encoded-streams';
  readonly worker: Worker;
  ready(): Promise<{ ok: true }>;
  protectSender(sender: RTCRtpSender, options?: { payloadTypes?: Record<number, string> }): Promise<void>;
  protectReceiver(receiver: RTCRtpReceiver, options?: { payloadTypes?: Record<number, string> }): Promise<void>;
  protectTransceiver(transceiver: RTCRtpTransceiver, options?: { payloadTypes?: Record<number, string> }): Promise<void>;
  setSenderKey(key: FrameKey): Promise<{ ok: true }>;
  addReceiverKey(key: FrameKey): Promise<{ ok: true }>;
  removeReceiverKey(kid: bigint | number): Promise<boolean>;
  startCall(options: { uid: string; suite?: number; identitySecret?: Uint8Array }): Promise<CallStep>;
  answerCall(options: { uid: string; commit: Uint8Array; identitySecret?: Uint8Array }): Promise<CallStep>;
  handleSignal(message: Uint8Array): Promise<CallStep>;
  markVerified(): Promise<{ status: CallStatus }>;
  callStatus(): Promise<CallStatus | null>;
  rekey(): Promise<{ kid: bigint }>;
  stats(): Promise<TransformStats>;
  terminate(): void;
}
