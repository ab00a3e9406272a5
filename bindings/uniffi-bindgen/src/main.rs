//! Generates the Kotlin, Swift and Python bindings of callseal-ffi from the
//! built library (UniFFI "library mode"):
//!
//! ```text
//! cargo run -p uniffi-bindgen -- generate --library target/release/libcallseal_ffi.so \
//!     --language kotlin --out-dir build/kotlin --no-format
//! ```
//!
//! Build it in the same cargo command as `callseal-ffi` (`cargo build
//! --release -p callseal-ffi -p uniffi-bindgen`), so both use one build of
//! `uniffi`; `scripts/test-mobile` does.

fn main() {
    uniffi::uniffi_bindgen_main()
}
