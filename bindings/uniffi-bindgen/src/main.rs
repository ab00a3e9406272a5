//! Generates the Kotlin, Swift and Python bindings of callseal-ffi (issue #6).

fn main() {}
