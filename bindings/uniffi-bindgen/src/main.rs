//! Generates the Kotlin, Swift and Python bindings of callseal-ffi from the
//! built library (UniFFI "library mode"). The binary is `callseal-bindgen`:
//!
//! ```text
//! cargo build --release -p uniffi-bindgen
//! target/release/callseal-bindgen generate --library target/release/libcallseal_ffi.so \
//!     --language kotlin --out-dir build/kotlin --no-format
//! ```
//!
//! It is the generator of the uniffi version callseal-ffi uses (the
//! workspace pins it); maturin, building the Python wheel, runs it as
//! `uniffi-bindgen` from PATH (`scripts/test-mobile`).

fn main() {
    uniffi::uniffi_bindgen_main()
}
