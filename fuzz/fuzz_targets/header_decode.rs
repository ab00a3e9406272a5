//! `Header::decode` on arbitrary bytes: never panics, and a decoded header
//! re-encodes to exactly the bytes it consumed.
#![no_main]

use callseal_core::frame::{Header, MAX_HEADER_LEN};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok((header, len)) = Header::decode(data) {
        assert!(len <= data.len() && len <= MAX_HEADER_LEN);
        let encoded = header.encode();
        assert_eq!(encoded.as_bytes(), &data[..len]);
        assert_eq!(Header::decode(encoded.as_bytes()), Ok((header, len)));
    }
});
