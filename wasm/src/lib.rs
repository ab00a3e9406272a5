//! callseal-wasm: the wasm-bindgen wrapper of callseal-core (issue #5).
