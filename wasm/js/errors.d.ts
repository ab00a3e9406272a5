/** The stable error codes (docs/BINDINGS.md), the same on every target. */
export type ErrorCode =
  | 'malformed'
  | 'invalid-argument'
  | 'authentication-failed'
  | 'replay'
  | 'unknown-key-id'
  | 'key-exhausted'
  | 'protocol-violation'
  | 'wrong-peer'
  | 'policy-forbids'
  | 'feature-unavailable'
  | 'storage'
  | 'entropy'
  | 'internal';

/** Every error callseal throws: branch on `code`, show `message`. */
export declare class CallsealError extends Error {
  constructor(code: ErrorCode, message: string);
  readonly name: 'CallsealError';
  readonly code: ErrorCode;
}
