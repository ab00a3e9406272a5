//! Signed policy documents: the tenant admin's Ed25519 signature over the
//! exact payload bytes, a serial that never goes back, and nothing of a
//! refused document used (docs/POLICY.md, "Signed policy documents").

use std::fmt;

use base64ct::{Base64, Encoding};
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::Deserialize;
use zeroize::Zeroizing;

use super::{PolicyDocument, PolicyError};
use crate::identity::{Entropy, EntropyError, OsEntropy};
use crate::strict_json::{self, StrictJsonError};

/// The `format` of a signed policy document.
pub const SIGNED_POLICY_FORMAT: &str = "callseal-signed-policy/1";

/// The payload format version.
pub const SIGNED_PAYLOAD_VERSION: u64 = 1;

/// The largest signed document [`PolicyDocument::verify`] reads (24 MiB).
pub const MAX_SIGNED_POLICY_LEN: usize = 24 << 20;

/// The largest serial or issue time: 2^53 − 1, exact in every JSON parser.
pub const MAX_SIGNED_POLICY_NUMBER: u64 = (1 << 53) - 1;

/// What the signature covers, before the payload bytes.
const SIGNATURE_CONTEXT: &[u8] = b"callseal/policy/1\0";

impl From<StrictJsonError> for PolicyError {
    fn from(e: StrictJsonError) -> Self {
        match e {
            StrictJsonError::DuplicateKey(path) => PolicyError::DuplicateKey(path),
            StrictJsonError::Syntax(why) => PolicyError::Corrupt(why),
        }
    }
}

/// A tenant's policy verification key: the admin's Ed25519 public key,
/// which clients are configured with.
///
/// ```
/// use callseal_core::policy::{PolicySigningKey, TenantKey};
///
/// let admin = PolicySigningKey::from_bytes([7; 32]);
/// let key = admin.tenant_key();
/// assert_eq!(TenantKey::from_hex(&key.to_hex())?, key);
/// assert!(TenantKey::from_hex("00").is_err());
/// # Ok::<(), callseal_core::policy::PolicyError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct TenantKey(VerifyingKey);

impl TenantKey {
    /// The key from its 32 bytes.
    ///
    /// # Errors
    /// [`PolicyError::InvalidValue`] if `bytes` is not 32 bytes, or not a
    /// usable Ed25519 public key (not a curve point, or of small order).
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, PolicyError> {
        let invalid = || PolicyError::InvalidValue {
            what: "tenant key",
            value: hex(bytes),
            allowed: "an Ed25519 public key (32 bytes, 64 hex digits)",
        };
        let bytes: &[u8; 32] = bytes.try_into().map_err(|_| invalid())?;
        let key = VerifyingKey::from_bytes(bytes).map_err(|_| invalid())?;
        if key.is_weak() {
            return Err(invalid());
        }
        Ok(Self(key))
    }

    /// The key from 64 hex digits (either case; surrounding white space is
    /// ignored).
    ///
    /// # Errors
    /// As [`from_bytes`](Self::from_bytes).
    pub fn from_hex(text: &str) -> Result<Self, PolicyError> {
        let text = text.trim();
        let bytes = unhex(text).ok_or_else(|| PolicyError::InvalidValue {
            what: "tenant key",
            value: text.chars().take(80).collect(),
            allowed: "an Ed25519 public key (32 bytes, 64 hex digits)",
        })?;
        Self::from_bytes(&bytes)
    }

    /// The key's 32 bytes.
    pub fn to_bytes(&self) -> [u8; 32] {
        self.0.to_bytes()
    }

    /// The key as 64 lowercase hex digits.
    pub fn to_hex(&self) -> String {
        hex(self.0.as_bytes())
    }
}

impl fmt::Debug for TenantKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "TenantKey({})", self.to_hex())
    }
}

/// The admin's policy signing key (Ed25519). Wiped on drop; never printed.
///
/// ```
/// use callseal_core::policy::{PolicyDocument, PolicySigningKey};
///
/// let admin = PolicySigningKey::generate()?;
/// let signed = admin.sign(&PolicyDocument::new(), 1, 1_796_000_000)?;
/// let verified = PolicyDocument::verify(&signed, &admin.tenant_key(), 0)?;
/// assert_eq!(verified.serial(), 1);
/// assert!(!format!("{admin:?}").contains(&format!("{:?}", admin.to_bytes())));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct PolicySigningKey(SigningKey);

impl PolicySigningKey {
    /// A fresh key from the operating system's randomness.
    ///
    /// # Errors
    /// [`EntropyError`] if no randomness is available.
    pub fn generate() -> Result<Self, EntropyError> {
        Self::generate_with(&mut OsEntropy)
    }

    /// A fresh key from `entropy`.
    ///
    /// # Errors
    /// [`EntropyError`] if `entropy` fails.
    pub fn generate_with<E: Entropy + ?Sized>(entropy: &mut E) -> Result<Self, EntropyError> {
        let mut seed = Zeroizing::new([0u8; 32]);
        entropy.fill(seed.as_mut())?;
        Ok(Self(SigningKey::from_bytes(&seed)))
    }

    /// The key from its 32-byte seed (RFC 8032's private key).
    pub fn from_bytes(seed: [u8; 32]) -> Self {
        let seed = Zeroizing::new(seed);
        Self(SigningKey::from_bytes(&seed))
    }

    /// The key from its seed, which stays wiped on drop.
    pub fn from_zeroizing(seed: Zeroizing<[u8; 32]>) -> Self {
        Self(SigningKey::from_bytes(&seed))
    }

    /// The 32-byte seed, wiped when dropped.
    pub fn to_bytes(&self) -> Zeroizing<[u8; 32]> {
        Zeroizing::new(self.0.to_bytes())
    }

    /// The public key clients verify with.
    pub fn tenant_key(&self) -> TenantKey {
        TenantKey(self.0.verifying_key())
    }

    /// `document` signed with `serial` and `issued_at` (seconds since
    /// 1970-01-01 UTC): the bytes [`PolicyDocument::verify`] reads.
    ///
    /// # Errors
    /// [`PolicyError::InvalidValue`] for a serial of 0 or either number
    /// above [`MAX_SIGNED_POLICY_NUMBER`].
    pub fn sign(
        &self,
        document: &PolicyDocument,
        serial: u64,
        issued_at: u64,
    ) -> Result<Vec<u8>, PolicyError> {
        check_number("serial", serial, 1)?;
        check_number("issued_at", issued_at, 0)?;
        // The document as `to_json` writes it; white space inside the
        // payload is signed like every other byte.
        let payload = format!(
            "{{\"version\":{SIGNED_PAYLOAD_VERSION},\"serial\":{serial},\"issued_at\":{issued_at},\"document\":{}}}",
            document.to_json()
        )
        .into_bytes();
        let signature = self.0.sign(&signed_message(&payload));
        let envelope = Envelope {
            format: SIGNED_POLICY_FORMAT.to_owned(),
            signer: self.tenant_key().to_hex(),
            payload: Base64::encode_string(&payload),
            signature: hex(&signature.to_bytes()),
        };
        envelope.to_bytes()
    }
}

impl fmt::Debug for PolicySigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PolicySigningKey")
            .field("tenant_key", &self.tenant_key())
            .finish_non_exhaustive()
    }
}

/// A policy document whose signature, tenant and serial were checked, with
/// what the admin signed alongside it.
///
/// ```
/// use callseal_core::policy::{PolicyDocument, PolicySigningKey};
///
/// let admin = PolicySigningKey::from_bytes([7; 32]);
/// let signed = admin.sign(&PolicyDocument::new(), 3, 1_796_000_000)?;
/// let verified = PolicyDocument::verify(&signed, &admin.tenant_key(), 2)?;
/// assert_eq!((verified.serial(), verified.issued_at()), (3, 1_796_000_000));
/// let doc: PolicyDocument = verified.into_document();
/// assert_eq!(doc, PolicyDocument::new());
/// # Ok::<(), callseal_core::policy::PolicyError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedPolicy {
    document: PolicyDocument,
    serial: u64,
    issued_at: u64,
}

impl VerifiedPolicy {
    /// The policy document.
    pub fn document(&self) -> &PolicyDocument {
        &self.document
    }

    /// The document, taken.
    pub fn into_document(self) -> PolicyDocument {
        self.document
    }

    /// The serial: store it and pass it as `last_seen_serial` next time.
    pub fn serial(&self) -> u64 {
        self.serial
    }

    /// When the admin signed it, in seconds since 1970-01-01 UTC.
    pub fn issued_at(&self) -> u64 {
        self.issued_at
    }
}

impl PolicyDocument {
    /// Verifies a signed policy document (docs/POLICY.md, "Signed policy
    /// documents") against the tenant key and the serial of the newest
    /// document already accepted (0: none). Nothing of a refused document
    /// is used.
    ///
    /// # Errors
    /// [`PolicyError::Corrupt`] for what is not a signed document (or is
    /// larger than [`MAX_SIGNED_POLICY_LEN`]), [`PolicyError::DuplicateKey`]
    /// for a member name twice in one object, [`PolicyError::WrongTenant`]
    /// for another signer, [`PolicyError::BadSignature`],
    /// [`PolicyError::UnsupportedVersion`], [`PolicyError::RolledBack`] for
    /// a serial below `last_seen_serial`, and whatever
    /// [`from_json`](Self::from_json) refuses in the document.
    ///
    /// ```
    /// use callseal_core::ErrorKind;
    /// use callseal_core::policy::{PolicyDocument, PolicyError, PolicySigningKey};
    ///
    /// let admin = PolicySigningKey::from_bytes([7; 32]);
    /// let old = admin.sign(&PolicyDocument::new(), 4, 1_796_000_000)?;
    /// let err = PolicyDocument::verify(&old, &admin.tenant_key(), 5).unwrap_err();
    /// assert!(matches!(err, PolicyError::RolledBack { serial: 4, last_seen: 5 }));
    /// assert_eq!(err.kind(), ErrorKind::Replay);
    /// # Ok::<(), PolicyError>(())
    /// ```
    pub fn verify(
        signed: &[u8],
        tenant_key: &TenantKey,
        last_seen_serial: u64,
    ) -> Result<VerifiedPolicy, PolicyError> {
        if signed.len() > MAX_SIGNED_POLICY_LEN {
            return Err(PolicyError::Corrupt(format!(
                "a signed policy document is at most {MAX_SIGNED_POLICY_LEN} bytes, this one {}",
                signed.len()
            )));
        }
        strict_json::check(signed)?;
        let envelope: Envelope = serde_json::from_slice(signed)
            .map_err(|e| PolicyError::Corrupt(format!("not a signed policy document: {e}")))?;
        if envelope.format != SIGNED_POLICY_FORMAT {
            return Err(PolicyError::Corrupt(format!(
                "format {:?} is not {SIGNED_POLICY_FORMAT:?}",
                envelope.format
            )));
        }
        // One form only: a changed byte anywhere (white space included) is
        // refused, not read past.
        if envelope.to_bytes()? != signed {
            return Err(PolicyError::Corrupt(
                "a signed policy document must be exactly in its canonical form (docs/POLICY.md)"
                    .into(),
            ));
        }
        let signer = unhex(&envelope.signer)
            .filter(|s| s.len() == 32 && hex(s) == envelope.signer)
            .ok_or_else(|| PolicyError::Corrupt("signer is not 64 lowercase hex digits".into()))?;
        let payload = Base64::decode_vec(&envelope.payload)
            .map_err(|_| PolicyError::Corrupt("payload is not padded base64".into()))?;
        let signature = unhex(&envelope.signature)
            .filter(|s| hex(s) == envelope.signature)
            .and_then(|s| <[u8; 64]>::try_from(s.as_slice()).ok())
            .ok_or_else(|| {
                PolicyError::Corrupt("signature is not 128 lowercase hex digits".into())
            })?;
        // Every value's form checked (docs/POLICY.md step 2): now whose it is.
        if signer != tenant_key.to_bytes() {
            return Err(PolicyError::WrongTenant {
                expected: tenant_key.to_hex(),
                found: envelope.signer,
            });
        }
        tenant_key
            .0
            .verify_strict(
                &signed_message(&payload),
                &Signature::from_bytes(&signature),
            )
            .map_err(|_| PolicyError::BadSignature)?;
        // Authentic from here on: what the admin signed.
        strict_json::check(&payload)?;
        let version: VersionOnly = serde_json::from_slice(&payload)
            .map_err(|e| PolicyError::Corrupt(format!("payload: {e}")))?;
        if version.version != SIGNED_PAYLOAD_VERSION {
            return Err(PolicyError::UnsupportedVersion(version.version));
        }
        let payload: Payload<'_> = serde_json::from_slice(&payload)
            .map_err(|e| PolicyError::Corrupt(format!("payload: {e}")))?;
        check_number("serial", payload.serial, 1)
            .map_err(|e| PolicyError::Corrupt(e.to_string()))?;
        check_number("issued_at", payload.issued_at, 0)
            .map_err(|e| PolicyError::Corrupt(e.to_string()))?;
        if payload.serial < last_seen_serial {
            return Err(PolicyError::RolledBack {
                serial: payload.serial,
                last_seen: last_seen_serial,
            });
        }
        Ok(VerifiedPolicy {
            document: PolicyDocument::from_json(payload.document.get().as_bytes())?,
            serial: payload.serial,
            issued_at: payload.issued_at,
        })
    }
}

/// The signed document as carried.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Envelope {
    format: String,
    signer: String,
    payload: String,
    signature: String,
}

impl Envelope {
    /// The canonical form: pretty-printed (two-space indent, members in
    /// this order), one final line feed. Every value is ASCII that JSON
    /// strings carry unescaped (checked on reading before this is used).
    fn to_bytes(&self) -> Result<Vec<u8>, PolicyError> {
        let plain = |v: &str| {
            v.bytes()
                .all(|b| b.is_ascii_graphic() && b != b'"' && b != b'\\')
        };
        if ![&self.format, &self.signer, &self.payload, &self.signature]
            .iter()
            .all(|v| plain(v))
        {
            return Err(PolicyError::Corrupt(
                "a signed policy document's values are plain ASCII".into(),
            ));
        }
        Ok(format!(
            "{{\n  \"format\": \"{}\",\n  \"signer\": \"{}\",\n  \"payload\": \"{}\",\n  \"signature\": \"{}\"\n}}\n",
            self.format, self.signer, self.payload, self.signature
        )
        .into_bytes())
    }
}

/// What the admin signs (`document` checked by [`PolicyDocument::from_json`]).
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct Payload<'a> {
    #[allow(dead_code)]
    version: u64,
    serial: u64,
    issued_at: u64,
    #[serde(borrow)]
    document: &'a serde_json::value::RawValue,
}

/// The payload's version, read first so that a future payload is refused as
/// such.
#[derive(Deserialize)]
struct VersionOnly {
    version: u64,
}

fn signed_message(payload: &[u8]) -> Vec<u8> {
    let mut message = Vec::with_capacity(SIGNATURE_CONTEXT.len() + payload.len());
    message.extend_from_slice(SIGNATURE_CONTEXT);
    message.extend_from_slice(payload);
    message
}

fn check_number(what: &'static str, value: u64, min: u64) -> Result<(), PolicyError> {
    if (min..=MAX_SIGNED_POLICY_NUMBER).contains(&value) {
        Ok(())
    } else {
        Err(PolicyError::InvalidValue {
            what,
            value: value.to_string(),
            allowed: if min == 1 {
                "an integer from 1 to 2^53 - 1"
            } else {
                "an integer from 0 to 2^53 - 1"
            },
        })
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

fn unhex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}
