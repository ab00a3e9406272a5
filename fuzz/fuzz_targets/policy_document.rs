//! `PolicyDocument::from_json` on arbitrary bytes: never panics, and a
//! document it accepts writes out and reads back as the same document, and
//! its decisions are symmetric.
#![no_main]

use callseal_core::policy::PolicyDocument;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = PolicyDocument::from_json(data) {
        let again = PolicyDocument::from_json(doc.to_json().as_bytes()).expect("round trip");
        assert_eq!(again, doc);
        let users: Vec<String> = doc.user_policies().keys().cloned().collect();
        for a in users.iter().take(4) {
            for b in users.iter().take(4) {
                assert_eq!(doc.evaluate_call(a, b), doc.evaluate_call(b, a));
            }
        }
    }
});
