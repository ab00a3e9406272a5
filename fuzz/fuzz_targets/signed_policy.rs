//! `PolicyDocument::verify`: arbitrary bytes never panic, and edits of a
//! real signed document (the fuzzer picks positions and byte values) are
//! refused unless they leave it unchanged.
#![no_main]

use std::sync::OnceLock;

use callseal_core::policy::{PolicyDocument, PolicySigningKey, TenantKey};
use libfuzzer_sys::fuzz_target;

fn fixture() -> &'static (TenantKey, Vec<u8>) {
    static FIXTURE: OnceLock<(TenantKey, Vec<u8>)> = OnceLock::new();
    FIXTURE.get_or_init(|| {
        let admin = PolicySigningKey::from_bytes([7; 32]);
        let signed = admin
            .sign(&PolicyDocument::new(), 3, 1_796_169_600)
            .expect("sign");
        (admin.tenant_key(), signed)
    })
}

fuzz_target!(|data: &[u8]| {
    let (key, good) = fixture();
    // Anything at all: a result, never a panic (and no forgery).
    assert!(PolicyDocument::verify(data, key, 0).is_err() || data == good.as_slice());
    // Edits: (position, new byte) pairs applied to the real document.
    let mut edited = good.clone();
    for pair in data.chunks_exact(3) {
        let at = usize::from(u16::from_le_bytes([pair[0], pair[1]])) % edited.len();
        edited[at] = pair[2];
    }
    match PolicyDocument::verify(&edited, key, 0) {
        Ok(verified) => {
            assert_eq!(&edited, good, "an edited document verified");
            assert_eq!(verified.serial(), 3);
        }
        Err(_) => assert_ne!(&edited, good),
    }
});
