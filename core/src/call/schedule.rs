//! The handshake's key schedule (PROTOCOL.md §3.4): commitment, transcript
//! hash, triple DH, HKDF labels and key-confirmation MACs.
//!
//! ```text
//! commitment = SHA-256("callseal/1 commit" || session_id || IK_I.pub || EK_I.pub)
//! TH  = SHA-256("callseal/1 transcript" || Commit || Response || EK_I.pub)
//! PRK = HKDF-Extract(salt = TH, IKM = dh1 || dh2 || dh3)
//! mac_I = HMAC-SHA-256(k_mac_I, TH)      mac_R = HMAC-SHA-256(k_mac_R, TH || mac_I)
//! ```

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::error::CallError;
use super::message::{KEY_LEN, SessionId};

const COMMIT_LABEL: &[u8] = b"callseal/1 commit";
const TRANSCRIPT_LABEL: &[u8] = b"callseal/1 transcript";
const MAC_I_LABEL: &[u8] = b"callseal/1 mac initiator";
const MAC_R_LABEL: &[u8] = b"callseal/1 mac responder";
const CODE_LABEL: &[u8] = b"callseal/1 security code";
const MEDIA_I_LABEL: &[u8] = b"callseal/1 media initiator";
const MEDIA_R_LABEL: &[u8] = b"callseal/1 media responder";

/// A 32-byte secret that is wiped on drop.
pub(crate) type Secret32 = Zeroizing<[u8; KEY_LEN]>;

/// The initiator's hash commitment to its ephemeral key.
pub(crate) fn commitment(
    session_id: &SessionId,
    identity_i: &[u8; KEY_LEN],
    ephemeral_i: &[u8; KEY_LEN],
) -> [u8; KEY_LEN] {
    Sha256::new()
        .chain_update(COMMIT_LABEL)
        .chain_update(session_id.0)
        .chain_update(identity_i)
        .chain_update(ephemeral_i)
        .finalize()
        .into()
}

/// `TH` over the exact Commit and Response bytes and the revealed `EK_I`.
pub(crate) fn transcript_hash(
    commit: &[u8],
    response: &[u8],
    ephemeral_i: &[u8; KEY_LEN],
) -> [u8; KEY_LEN] {
    Sha256::new()
        .chain_update(TRANSCRIPT_LABEL)
        .chain_update(commit)
        .chain_update(response)
        .chain_update(ephemeral_i)
        .finalize()
        .into()
}

/// X25519, refusing the all-zero output of a low-order public key.
pub(crate) fn dh(secret: &StaticSecret, public: &[u8; KEY_LEN]) -> Result<Secret32, CallError> {
    let shared = secret.diffie_hellman(&PublicKey::from(*public));
    let out = Zeroizing::new(shared.to_bytes());
    if bool::from(out.ct_eq(&[0u8; KEY_LEN])) {
        return Err(CallError::Malformed("low-order public key"));
    }
    Ok(out)
}

/// Constant-time equality of two 32-byte values.
pub(crate) fn ct_equal(a: &[u8; KEY_LEN], b: &[u8; KEY_LEN]) -> bool {
    bool::from(a.ct_eq(b))
}

/// Everything the handshake derives from `PRK`.
pub(crate) struct Secrets {
    k_mac_i: Secret32,
    k_mac_r: Secret32,
    pub(crate) code: Zeroizing<[u8; 20]>,
    pub(crate) media_i: Secret32,
    pub(crate) media_r: Secret32,
}

impl Secrets {
    /// `PRK = HKDF-Extract(TH, dh1 || dh2 || dh3)` and the five expansions.
    pub(crate) fn derive(
        th: &[u8; KEY_LEN],
        dh1: &Secret32,
        dh2: &Secret32,
        dh3: &Secret32,
    ) -> Self {
        let mut ikm = Zeroizing::new([0u8; 3 * KEY_LEN]);
        for (chunk, dh) in ikm.chunks_exact_mut(KEY_LEN).zip([dh1, dh2, dh3]) {
            chunk.copy_from_slice(&dh[..]);
        }
        let prk = Hkdf::<Sha256>::new(Some(th), &ikm[..]);
        let mut out = Self {
            k_mac_i: Zeroizing::new([0; KEY_LEN]),
            k_mac_r: Zeroizing::new([0; KEY_LEN]),
            code: Zeroizing::new([0; 20]),
            media_i: Zeroizing::new([0; KEY_LEN]),
            media_r: Zeroizing::new([0; KEY_LEN]),
        };
        // Outputs of 20 and 32 bytes are far below HKDF-SHA-256's 8160-byte
        // limit, so expansion cannot fail; the results are ignored knowingly.
        let _ = prk.expand(MAC_I_LABEL, &mut out.k_mac_i[..]);
        let _ = prk.expand(MAC_R_LABEL, &mut out.k_mac_r[..]);
        let _ = prk.expand(CODE_LABEL, &mut out.code[..]);
        let _ = prk.expand(MEDIA_I_LABEL, &mut out.media_i[..]);
        let _ = prk.expand(MEDIA_R_LABEL, &mut out.media_r[..]);
        out
    }

    /// The two media base keys `(media_I, media_R)`; the MAC keys are wiped.
    pub(crate) fn into_media(self) -> (Secret32, Secret32) {
        (self.media_i, self.media_r)
    }

    /// `mac_I = HMAC-SHA-256(k_mac_I, TH)`.
    pub(crate) fn mac_i(&self, th: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
        hmac(&self.k_mac_i, &[th])
    }

    /// `mac_R = HMAC-SHA-256(k_mac_R, TH || mac_I)`.
    pub(crate) fn mac_r(&self, th: &[u8; KEY_LEN], mac_i: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
        hmac(&self.k_mac_r, &[th, mac_i])
    }
}

fn hmac(key: &Secret32, parts: &[&[u8; KEY_LEN]]) -> [u8; KEY_LEN] {
    // HMAC accepts keys of any length, so this never fails; should it ever,
    // the all-zero MAC only makes the comparison fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key[..]) else {
        return [0; KEY_LEN];
    };
    for part in parts {
        mac.update(&part[..]);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;

    #[test]
    fn labels_are_distinct_outputs() {
        let k = Zeroizing::new([9u8; 32]);
        let s = Secrets::derive(&[1; 32], &k, &k, &k);
        assert_ne!(*s.k_mac_i, *s.k_mac_r);
        assert_ne!(*s.media_i, *s.media_r);
        assert_ne!(s.mac_i(&[1; 32]), s.mac_r(&[1; 32], &[0; 32]));
    }

    #[test]
    fn low_order_point_is_refused() {
        let secret = StaticSecret::from([5u8; 32]);
        assert!(matches!(
            dh(&secret, &[0; 32]),
            Err(CallError::Malformed(_))
        ));
        // u = 1 is a point of order 4 and a clamped scalar is a multiple of
        // 8, so the shared secret is zero too.
        let mut one = [0u8; 32];
        one[0] = 1;
        assert!(matches!(dh(&secret, &one), Err(CallError::Malformed(_))));
    }
}
