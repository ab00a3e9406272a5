//! No panic crosses the boundary, and a poisoned lock is an error, not a
//! second panic.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Mutex, MutexGuard};

use crate::error::CallsealError;

/// Runs `f`, turning a panic into [`CallsealError::Internal`].
///
/// The core is written so that no input can make it panic (fuzzed, lints
/// deny `unwrap` and `panic`); this is the last line of defence, so a bug
/// surfaces as an exception the app can report instead of killing it.
pub(crate) fn guard<T>(f: impl FnOnce() -> Result<T, CallsealError>) -> Result<T, CallsealError> {
    catch_unwind(AssertUnwindSafe(f)).unwrap_or_else(|payload| {
        let what = payload
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| payload.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".to_owned());
        Err(CallsealError::Internal(format!(
            "internal error in callseal: {what}"
        )))
    })
}

/// Locks `mutex`; a lock poisoned by an earlier internal error is refused
/// (the state behind it may be half-updated).
pub(crate) fn lock<T>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>, CallsealError> {
    mutex.lock().map_err(|_| {
        CallsealError::Internal("object unusable after an earlier internal error".to_owned())
    })
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_internal_and_the_next_call_works() {
        let poisoned = Mutex::new(0u32);
        let result: Result<(), _> = guard(|| {
            let _held = lock(&poisoned)?;
            panic!("boom");
        });
        match result {
            Err(CallsealError::Internal(message)) => assert!(message.contains("boom")),
            other => panic!("expected internal, got {other:?}"),
        }
        // The poisoned object refuses further use, without panicking.
        assert!(matches!(lock(&poisoned), Err(CallsealError::Internal(_))));
        // Everything else goes on.
        assert_eq!(guard(|| Ok(41 + 1)), Ok(42));
        let formatted: Result<(), _> = guard(|| panic!("{} {}", "with", "format"));
        assert_eq!(
            formatted,
            Err(CallsealError::Internal(
                "internal error in callseal: with format".into()
            ))
        );
    }
}
