//! Temporary: runs core/tests/call/identity_store.rs alone.
#![allow(missing_docs)]
#[path = "call/identity_store.rs"]
mod identity_store;
