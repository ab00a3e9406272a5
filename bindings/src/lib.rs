//! callseal-ffi: the UniFFI wrapper of callseal-core (issue #6).
