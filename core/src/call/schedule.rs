//! The key schedule (PROTOCOL.md §3.4, §3.9): commitment, transcript
//! hashes, triple DH plus ML-KEM, HKDF labels, key-confirmation MACs, and the
//! rekey chain.
//!
//! ```text
//! commitment = SHA-256("callseal/2 commit" || session_id || IK_I.pub || EK_I.pub || KEM_ek_I)
//! TH  = SHA-256("callseal/2 transcript" || Commit || Response || EK_I.pub)
//! PRK = HKDF-Extract(salt = TH, IKM = dh1 || dh2 || dh3 || ss)
//! mac_I = HMAC-SHA-256(k_mac_I, TH)      mac_R = HMAC-SHA-256(k_mac_R, TH || mac_I)
//! TH_n  = SHA-256("callseal/2 rekey transcript" || RekeyOffer || RekeyAnswer)
//! PRK_n = HKDF-Extract(salt = TH_n, IKM = chain_{n-1} || X25519(E_O, E_A) || ss_n)
//! ```

use hkdf::Hkdf;
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;
use x25519_dalek::{PublicKey, StaticSecret};
use zeroize::Zeroizing;

use super::error::CallError;
use super::kem::EK_LEN;
use super::message::{KEY_LEN, SessionId};
use super::session::Role;

const COMMIT_LABEL: &[u8] = b"callseal/2 commit";
const TRANSCRIPT_LABEL: &[u8] = b"callseal/2 transcript";
const MAC_I_LABEL: &[u8] = b"callseal/2 mac initiator";
const MAC_R_LABEL: &[u8] = b"callseal/2 mac responder";
const CODE_LABEL: &[u8] = b"callseal/2 security code";
const MEDIA_I_LABEL: &[u8] = b"callseal/2 media initiator";
const MEDIA_R_LABEL: &[u8] = b"callseal/2 media responder";
const CHAIN_LABEL: &[u8] = b"callseal/2 chain";
const REKEY_TRANSCRIPT_LABEL: &[u8] = b"callseal/2 rekey transcript";
const REKEY_I_LABEL: &[u8] = b"callseal/2 rekey initiator";
const REKEY_R_LABEL: &[u8] = b"callseal/2 rekey responder";

/// A 32-byte secret that is wiped on drop.
pub(crate) type Secret32 = Zeroizing<[u8; KEY_LEN]>;

/// The initiator's hash commitment to its ephemeral key.
pub(crate) fn commitment(
    session_id: &SessionId,
    identity_i: &[u8; KEY_LEN],
    ephemeral_i: &[u8; KEY_LEN],
    kem_ek_i: &[u8; EK_LEN],
) -> [u8; KEY_LEN] {
    Sha256::new()
        .chain_update(COMMIT_LABEL)
        .chain_update(session_id.0)
        .chain_update(identity_i)
        .chain_update(ephemeral_i)
        .chain_update(kem_ek_i)
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

/// HKDF-Extract over the concatenated secrets (they are wiped after).
fn extract(salt: &[u8; KEY_LEN], secrets: &[&Secret32]) -> Hkdf<Sha256> {
    let mut ikm = Zeroizing::new(Vec::with_capacity(secrets.len() * KEY_LEN));
    for secret in secrets {
        ikm.extend_from_slice(&secret[..]);
    }
    Hkdf::<Sha256>::new(Some(salt), &ikm[..])
}

/// `HKDF-Expand(prk, label, N)`. Outputs of 20 and 32 bytes are far below
/// HKDF-SHA-256's 8160-byte limit, so expansion cannot fail; the result is
/// ignored knowingly.
fn expand<const N: usize>(prk: &Hkdf<Sha256>, label: &[u8]) -> Zeroizing<[u8; N]> {
    let mut out = Zeroizing::new([0u8; N]);
    let _ = prk.expand(label, &mut out[..]);
    out
}

/// The keys of one epoch: both media base keys and the chain secret.
pub(crate) struct EpochKeys {
    pub(crate) media_i: Secret32,
    pub(crate) media_r: Secret32,
    pub(crate) chain: Secret32,
}

impl EpochKeys {
    fn derive(prk: &Hkdf<Sha256>) -> Self {
        Self {
            media_i: expand(prk, MEDIA_I_LABEL),
            media_r: expand(prk, MEDIA_R_LABEL),
            chain: expand(prk, CHAIN_LABEL),
        }
    }

    /// This side's media key and the peer's, for `role`.
    pub(crate) fn split(self, role: Role) -> (Secret32, Secret32, Secret32) {
        match role {
            Role::Initiator => (self.media_i, self.media_r, self.chain),
            Role::Responder => (self.media_r, self.media_i, self.chain),
        }
    }
}

/// Everything the handshake derives from `PRK`.
pub(crate) struct Secrets {
    k_mac_i: Secret32,
    k_mac_r: Secret32,
    pub(crate) code: Zeroizing<[u8; 20]>,
    pub(crate) keys: EpochKeys,
}

impl Secrets {
    /// `PRK = HKDF-Extract(TH, dh1 || dh2 || dh3 || ss)` and the six
    /// expansions.
    pub(crate) fn derive(th: &[u8; KEY_LEN], dh: [&Secret32; 3], ss: &Secret32) -> Self {
        let prk = extract(th, &[dh[0], dh[1], dh[2], ss]);
        Self {
            k_mac_i: expand(&prk, MAC_I_LABEL),
            k_mac_r: expand(&prk, MAC_R_LABEL),
            code: expand(&prk, CODE_LABEL),
            keys: EpochKeys::derive(&prk),
        }
    }

    /// `mac_I = HMAC-SHA-256(k_mac_I, TH)`.
    pub(crate) fn mac_i(&self, th: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
        hmac(&self.k_mac_i, &[&th[..]])
    }

    /// `mac_R = HMAC-SHA-256(k_mac_R, TH || mac_I)`.
    pub(crate) fn mac_r(&self, th: &[u8; KEY_LEN], mac_i: &[u8; KEY_LEN]) -> [u8; KEY_LEN] {
        hmac(&self.k_mac_r, &[&th[..], &mac_i[..]])
    }
}

/// `TH_n` over the exact RekeyOffer and RekeyAnswer bytes.
pub(crate) fn rekey_transcript_hash(offer: &[u8], answer: &[u8]) -> [u8; KEY_LEN] {
    Sha256::new()
        .chain_update(REKEY_TRANSCRIPT_LABEL)
        .chain_update(offer)
        .chain_update(answer)
        .finalize()
        .into()
}

/// Epoch `n`'s keys: `PRK_n = HKDF-Extract(TH_n, chain_{n-1} || dh_n || ss_n)`.
pub(crate) fn rekey(
    th: &[u8; KEY_LEN],
    chain: &Secret32,
    dh: &Secret32,
    ss: &Secret32,
) -> EpochKeys {
    EpochKeys::derive(&extract(th, &[chain, dh, ss]))
}

/// `k_rekey_<role>(chain)`: the key `role` MACs its rekey messages with.
pub(crate) fn rekey_mac_key(chain: &Secret32, role: Role) -> Secret32 {
    let label = match role {
        Role::Initiator => REKEY_I_LABEL,
        Role::Responder => REKEY_R_LABEL,
    };
    // A 32-byte chain secret is a valid HKDF pseudorandom key.
    match Hkdf::<Sha256>::from_prk(&chain[..]) {
        Ok(prk) => expand(&prk, label),
        Err(_) => Zeroizing::new([0; KEY_LEN]),
    }
}

/// `HMAC-SHA-256(key, bytes)`.
pub(crate) fn mac(key: &Secret32, bytes: &[u8]) -> [u8; KEY_LEN] {
    hmac(key, &[bytes])
}

fn hmac(key: &Secret32, parts: &[&[u8]]) -> [u8; KEY_LEN] {
    // HMAC accepts keys of any length, so this never fails; should it ever,
    // the all-zero MAC only makes the comparison fail.
    let Ok(mut mac) = <Hmac<Sha256> as KeyInit>::new_from_slice(&key[..]) else {
        return [0; KEY_LEN];
    };
    for part in parts {
        mac.update(part);
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
        let s = Secrets::derive(&[1; 32], [&k, &k, &k], &k);
        assert_ne!(*s.k_mac_i, *s.k_mac_r);
        assert_ne!(*s.keys.media_i, *s.keys.media_r);
        assert_ne!(*s.keys.chain, *s.keys.media_i);
        let other_ss = Zeroizing::new([8u8; 32]);
        let t = Secrets::derive(&[1; 32], [&k, &k, &k], &other_ss);
        assert_ne!(*s.keys.media_i, *t.keys.media_i);
        assert_ne!(
            *rekey_mac_key(&s.keys.chain, Role::Initiator),
            *rekey_mac_key(&s.keys.chain, Role::Responder)
        );
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
