//! Errors at the boundary: every failure becomes a JavaScript
//! `CallsealError` whose `code` is the stable [`ErrorKind`] code.
//!
//! # Panics
//!
//! None is reachable from input: the core denies `unwrap`, `expect` and
//! `panic`, uses checked slicing and arithmetic, and its parsers are fuzzed;
//! this crate only converts. Two nets catch a bug all the same:
//!
//! - [`guard`] runs every exported call under `catch_unwind`, so a build
//!   that unwinds (the host, or wasm built with unwinding support) reports a
//!   panic as code `internal` and nothing crosses the boundary;
//! - stable `wasm32-unknown-unknown` cannot unwind (its standard library is
//!   built with `panic=abort`), so the panic hook installed at start-up
//!   throws a `CallsealError` with code `internal` from the hook itself,
//!   before the abort would trap. The call that panicked ends there; the
//!   object it ran on stays borrowed and refuses further use, other objects
//!   keep working. Rust allows one such panic per instance: a second one
//!   aborts (a `WebAssembly.RuntimeError`), as does running out of memory.

use std::panic::{AssertUnwindSafe, catch_unwind};

use callseal_core::ErrorKind;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::wasm_bindgen;

#[wasm_bindgen(module = "/js/errors.js")]
extern "C" {
    /// A new `CallsealError(code, message)`.
    #[wasm_bindgen(js_name = callsealError)]
    fn callseal_error(code: &str, message: &str) -> JsValue;
}

/// A failure on its way to JavaScript: a stable kind and a message.
///
/// It becomes a `CallsealError` with `code` = [`ErrorKind::code`] when it
/// crosses the boundary.
///
/// ```
/// use callseal_core::ErrorKind;
/// use callseal_wasm::Failure;
///
/// let failure = Failure::new(ErrorKind::Replay, "frame already received");
/// assert_eq!((failure.code(), failure.message()), ("replay", "frame already received"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    kind: ErrorKind,
    message: String,
}

impl Failure {
    /// A failure of `kind`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
        }
    }

    /// A refused argument.
    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidArgument, message)
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The stable code JavaScript sees.
    pub fn code(&self) -> &'static str {
        self.kind.code()
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl From<Failure> for JsValue {
    fn from(failure: Failure) -> JsValue {
        callseal_error(failure.code(), &failure.message)
    }
}

impl From<callseal_core::frame::Error> for Failure {
    fn from(err: callseal_core::frame::Error) -> Self {
        Self::new(err.kind(), err.to_string())
    }
}

impl From<callseal_core::frame::media::MediaError> for Failure {
    fn from(err: callseal_core::frame::media::MediaError) -> Self {
        Self::new(err.kind(), err.to_string())
    }
}

impl From<callseal_core::call::CallError> for Failure {
    fn from(err: callseal_core::call::CallError) -> Self {
        Self::new(err.kind(), err.to_string())
    }
}

impl From<callseal_core::identity::EntropyError> for Failure {
    fn from(err: callseal_core::identity::EntropyError) -> Self {
        Self::new(err.kind(), err.to_string())
    }
}

impl From<callseal_core::identity::IdentityError> for Failure {
    fn from(err: callseal_core::identity::IdentityError) -> Self {
        Self::new(err.kind(), err.to_string())
    }
}

/// Runs one exported call; a panic becomes an `internal` failure instead of
/// unwinding into JavaScript.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, Failure>) -> Result<T, Failure> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        // A literal message only: a formatted one could quote data.
        let what = payload.downcast_ref::<&str>().copied().unwrap_or("a panic");
        Err(Failure::new(
            ErrorKind::Internal,
            format!("internal error in callseal: {what}"),
        ))
    })
}

/// Installs the panic hook of the module's doc when the module starts.
#[cfg(target_arch = "wasm32")]
#[wasm_bindgen(start)]
fn start() {
    std::panic::set_hook(Box::new(|info| {
        // The location only: a payload could quote data.
        let at = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        wasm_bindgen::throw_val(callseal_error(
            ErrorKind::Internal.code(),
            &format!("internal error in callseal: a panic{at}"),
        ))
    }));
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::panic)]

    use super::*;
    use callseal_core::frame::Error;

    #[test]
    fn core_errors_keep_their_kind() {
        let f = Failure::from(Error::AuthenticationFailed);
        assert_eq!(f.code(), "authentication-failed");
        assert_eq!(f.message(), Error::AuthenticationFailed.to_string());
        let f = Failure::from(Error::CounterExhausted);
        assert_eq!(f.kind(), ErrorKind::KeyExhausted);
        let f = Failure::from(Error::AuthFailureLimit {
            kid: callseal_core::frame::Kid(7),
            limit: 4096,
        });
        assert_eq!(f.code(), "key-exhausted");
    }

    #[test]
    fn call_errors_keep_their_kind() {
        use callseal_core::call::CallError;
        let wrong = CallError::WrongPeer {
            expected: "bob".into(),
            presented: "mallory".into(),
        };
        assert_eq!(Failure::from(wrong).code(), "wrong-peer");
        assert_eq!(Failure::from(CallError::WrongPeerKey).code(), "wrong-peer");
        let misaddressed = CallError::Misaddressed { to: "carol".into() };
        assert_eq!(Failure::from(misaddressed).code(), "wrong-peer");
        assert_eq!(
            Failure::from(CallError::ShortTag(3)).code(),
            "invalid-argument"
        );
        assert_eq!(
            Failure::from(CallError::RekeyExhausted).code(),
            "key-exhausted"
        );
        assert_eq!(
            Failure::from(CallError::NotEstablished).code(),
            "protocol-violation"
        );
    }

    /// The handwritten TypeScript union of js/errors.d.ts lists exactly the
    /// core's codes.
    #[test]
    fn the_typescript_error_codes_are_the_cores() {
        let dts = include_str!("../js/errors.d.ts");
        let union = dts
            .split("export type ErrorCode =")
            .nth(1)
            .and_then(|rest| rest.split(';').next())
            .unwrap();
        let listed: Vec<&str> = union
            .split('|')
            .map(|c| c.trim().trim_matches('\''))
            .filter(|c| !c.is_empty())
            .collect();
        let codes: Vec<&str> = ErrorKind::ALL.iter().map(|k| k.code()).collect();
        assert_eq!(listed, codes);
    }

    #[test]
    fn guard_turns_a_panic_into_internal() {
        let ok: Result<u8, Failure> = guard(|| Ok(7));
        assert_eq!(ok, Ok(7));
        let failed: Result<u8, Failure> = guard(|| panic!("boom"));
        let f = failed.unwrap_err();
        assert_eq!(f.code(), "internal");
        assert!(f.message().contains("boom"), "{}", f.message());
    }
}
