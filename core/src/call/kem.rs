//! ML-KEM-768 (FIPS 203) as the hybrid key agreement uses it (PROTOCOL.md
//! §3.2): key generation from a 64-byte seed, encapsulation from 32 random
//! bytes, decapsulation with implicit rejection. All randomness comes from
//! the caller's [`Entropy`], so a scripted source reproduces every byte.

use ml_kem::array::Array;
use ml_kem::{B32, Decapsulate, KeyExport, MlKem768, Seed, ml_kem_768};
use zeroize::{Zeroize, Zeroizing};

use super::error::CallError;
use super::schedule::Secret32;
use crate::identity::Entropy;

/// Length of an ML-KEM-768 encapsulation key.
pub(crate) const EK_LEN: usize = 1184;
/// Length of an ML-KEM-768 ciphertext.
pub(crate) const CT_LEN: usize = 1088;

/// An ephemeral ML-KEM-768 key pair; the decapsulation key is wiped on drop.
pub(crate) struct KemKeyPair {
    dk: ml_kem_768::DecapsulationKey,
}

impl KemKeyPair {
    /// `ML-KEM.KeyGen_internal(d, z)` with `d || z` drawn from `entropy`.
    pub(crate) fn generate<E: Entropy + ?Sized>(entropy: &mut E) -> Result<Self, CallError> {
        let mut bytes = Zeroizing::new([0u8; 64]);
        entropy.fill(&mut bytes[..])?;
        let mut seed = Seed::from(*bytes);
        let dk = ml_kem_768::DecapsulationKey::from_seed(seed);
        seed.as_mut_slice().zeroize();
        Ok(Self { dk })
    }

    /// The encapsulation key, as sent (1184 bytes).
    pub(crate) fn public_bytes(&self) -> [u8; EK_LEN] {
        let mut out = [0u8; EK_LEN];
        out.copy_from_slice(self.dk.encapsulation_key().to_bytes().as_slice());
        out
    }

    /// `ML-KEM.Decaps`: never fails (implicit rejection gives a pseudorandom
    /// secret for a forged ciphertext, and the key confirmation then fails).
    pub(crate) fn decapsulate(&self, ct: &[u8; CT_LEN]) -> Secret32 {
        let ct: ml_kem_768::Ciphertext = Array::from(*ct);
        let mut ss = self.dk.decapsulate(&ct);
        let out = secret(&ss);
        ss.as_mut_slice().zeroize();
        out
    }
}

/// `ML-KEM.Encaps_internal(ek, m)` with `m` drawn from `entropy`: the
/// ciphertext and the shared secret.
///
/// # Errors
/// [`CallError::Malformed`] if `ek` fails the FIPS 203 modulus check;
/// [`CallError::Entropy`].
pub(crate) fn encapsulate<E: Entropy + ?Sized>(
    ek: &[u8; EK_LEN],
    entropy: &mut E,
) -> Result<([u8; CT_LEN], Secret32), CallError> {
    let key = Array::from(*ek);
    let ek = ml_kem_768::EncapsulationKey::new(&key)
        .map_err(|_| CallError::Malformed("invalid ML-KEM-768 encapsulation key"))?;
    let mut m = Zeroizing::new([0u8; 32]);
    entropy.fill(&mut m[..])?;
    let mut m_array = B32::from(*m);
    let (ct, mut ss) = ek.encapsulate_deterministic(&m_array);
    m_array.as_mut_slice().zeroize();
    let out = secret(&ss);
    ss.as_mut_slice().zeroize();
    let mut ct_bytes = [0u8; CT_LEN];
    ct_bytes.copy_from_slice(ct.as_slice());
    Ok((ct_bytes, out))
}

fn secret(ss: &ml_kem::kem::SharedKey<MlKem768>) -> Secret32 {
    let mut out = Zeroizing::new([0u8; 32]);
    out.copy_from_slice(ss.as_slice());
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]
    use super::*;
    use crate::identity::ScriptedEntropy;

    #[test]
    fn encapsulate_then_decapsulate_agree() {
        let pair = KemKeyPair::generate(&mut ScriptedEntropy::new(vec![7; 64])).unwrap();
        let ek = pair.public_bytes();
        let (ct, ss) = encapsulate(&ek, &mut ScriptedEntropy::new(vec![9; 32])).unwrap();
        assert_eq!(*pair.decapsulate(&ct), *ss);
        let mut forged = ct;
        forged[0] ^= 1;
        assert_ne!(*pair.decapsulate(&forged), *ss);
    }

    #[test]
    fn key_that_fails_the_modulus_check_is_malformed() {
        assert!(matches!(
            encapsulate(&[0xff; EK_LEN], &mut ScriptedEntropy::new(vec![1; 32])),
            Err(CallError::Malformed(_))
        ));
    }
}
