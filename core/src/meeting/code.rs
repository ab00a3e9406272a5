//! The meeting code: 20 digits from the epoch authenticator.

use hkdf::Hkdf;
use sha2::Sha256;

use crate::identity::{SECURITY_CODE_LEN, SecurityCode};

/// The label of the meeting code (PROTOCOL.md §4.5).
pub const MEETING_CODE_LABEL: &[u8] = b"callseal 1.0 meeting code";

/// The meeting code of an epoch, from its MLS epoch authenticator.
///
/// ```
/// use callseal_core::meeting::meeting_code;
///
/// let a = meeting_code(&[1; 32]);
/// assert_eq!(a, meeting_code(&[1; 32]));
/// assert_ne!(a, meeting_code(&[2; 32]));
/// assert_eq!(a.to_string().len(), 23); // "ddddd ddddd ddddd ddddd"
/// ```
pub fn meeting_code(epoch_authenticator: &[u8]) -> SecurityCode {
    let hk = Hkdf::<Sha256>::new(None, epoch_authenticator);
    let mut bytes = [0u8; SECURITY_CODE_LEN];
    // 20 bytes is far below HKDF-SHA256's limit of 8160.
    let _ = hk.expand(MEETING_CODE_LABEL, &mut bytes);
    SecurityCode::from_bytes(bytes)
}
