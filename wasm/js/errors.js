// The error class of the callseal package. The Rust side imports
// `callsealError` to build every error it throws, so `instanceof
// CallsealError` holds for each of them and `code` is one of the stable
// codes of docs/BINDINGS.md.

/** An error from callseal: `code` is a stable code, `message` says more. */
export class CallsealError extends Error {
  /**
   * @param {string} code one of the stable codes (`malformed`, `replay`, ...)
   * @param {string} message a human-readable message
   */
  constructor(code, message) {
    super(message);
    this.name = 'CallsealError';
    /** @type {string} */
    this.code = code;
  }
}

/** Called from Rust: a new CallsealError. */
export function callsealError(code, message) {
  return new CallsealError(code, message);
}
