//! Sealing: what a client must keep across replicas but never in clear
//! (a D-Trust revocation password, a token), encrypted with a key the
//! caller supplies (AES-256-GCM).

use std::fmt;

use crate::crypto::backend::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};

use super::record::StoreError;
use crate::secret::SecretBytes;

/// The first byte of every sealed value: the sealing scheme's version.
const SCHEME: u8 = 1;
const TAG_LEN: usize = 16;

/// An AES-256-GCM key for sealing values before they are stored. `Debug`
/// shows nothing of it; it is never stored, logged or serialized.
///
/// A sealed value is bound to its `context` (say, the namespace and the
/// flow's id): opened under another context, it is refused, so a stored
/// value cannot be moved to another record.
///
/// ```
/// use smartid_core::store::SealingKey;
///
/// let key = SealingKey::from_bytes(&[7u8; 32]).unwrap();
/// let sealed = key.seal(b"dtrust/order-1", b"revocation password").unwrap();
/// assert_eq!(key.open(b"dtrust/order-1", &sealed).unwrap().expose_secret(), b"revocation password");
/// assert!(key.open(b"dtrust/order-2", &sealed).is_err());
/// ```
pub struct SealingKey {
    key: LessSafeKey,
}

impl fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SealingKey([redacted])")
    }
}

impl SealingKey {
    /// The key from 32 bytes (from your secret manager).
    ///
    /// # Errors
    /// [`StoreError::Failed`] when `bytes` is not 32 bytes long.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, StoreError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes).map_err(|_| StoreError::Failed {
            reason: format!(
                "a sealing key is 32 bytes (AES-256), this one has {}",
                bytes.len()
            ),
        })?;
        Ok(Self {
            key: LessSafeKey::new(unbound),
        })
    }

    /// A new random key (keep its bytes yourself: [`SealingKey::generate`]
    /// returns them so that you can store them in your secret manager).
    ///
    /// # Errors
    /// [`StoreError::Failed`] when the system's random source fails.
    pub fn generate() -> Result<(Self, SecretBytes), StoreError> {
        let mut bytes = [0u8; 32];
        if !crate::crypto::fill_random(&mut bytes) {
            return Err(StoreError::Failed {
                reason: "the system's random source failed".into(),
            });
        }
        let key = Self::from_bytes(&bytes)?;
        let secret = SecretBytes::new(bytes.to_vec());
        zeroize::Zeroize::zeroize(&mut bytes);
        Ok((key, secret))
    }

    /// Encrypts `plaintext` bound to `context`: a version byte, a random
    /// 96-bit nonce, the ciphertext and the tag.
    ///
    /// # Errors
    /// [`StoreError::Failed`] when the random source or the cipher fails.
    pub fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, StoreError> {
        let failed = || StoreError::Failed {
            reason: "sealing failed (random source or cipher)".into(),
        };
        let mut nonce = [0u8; NONCE_LEN];
        if !crate::crypto::fill_random(&mut nonce) {
            return Err(failed());
        }
        let mut buffer = plaintext.to_vec();
        self.key
            .seal_in_place_append_tag(
                Nonce::assume_unique_for_key(nonce),
                Aad::from(context),
                &mut buffer,
            )
            .map_err(|_| failed())?;
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buffer.len());
        out.push(SCHEME);
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&buffer);
        zeroize::Zeroize::zeroize(&mut buffer);
        Ok(out)
    }

    /// Decrypts what [`SealingKey::seal`] made under the same `context`.
    ///
    /// # Errors
    /// [`StoreError::Failed`] when the value is not one this key sealed under
    /// this context (another key, another record, or altered).
    pub fn open(&self, context: &[u8], sealed: &[u8]) -> Result<SecretBytes, StoreError> {
        let refused = |why: &str| StoreError::Failed {
            reason: format!("a sealed value could not be opened: {why}"),
        };
        if sealed.len() < 1 + NONCE_LEN + TAG_LEN {
            return Err(refused("too short"));
        }
        if sealed[0] != SCHEME {
            return Err(refused(
                "unknown sealing scheme (written by a newer release?)",
            ));
        }
        let mut nonce = [0u8; NONCE_LEN];
        nonce.copy_from_slice(&sealed[1..1 + NONCE_LEN]);
        let mut buffer = sealed[1 + NONCE_LEN..].to_vec();
        let plain_len = match self.key.open_in_place(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(context),
            &mut buffer,
        ) {
            Ok(plain) => plain.len(),
            Err(_) => {
                return Err(refused(
                    "another key, another record, or the value was altered",
                ));
            }
        };
        buffer.truncate(plain_len);
        Ok(SecretBytes::new(buffer))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_and_open_bind_key_and_context() {
        let (key, bytes) = SealingKey::generate().unwrap();
        let sealed = key.seal(b"ns/a", b"pw").unwrap();
        assert_eq!(sealed.len(), 1 + NONCE_LEN + 2 + TAG_LEN);
        assert_eq!(key.open(b"ns/a", &sealed).unwrap().expose_secret(), b"pw");
        assert!(key.open(b"ns/b", &sealed).is_err());
        let other = SealingKey::from_bytes(&[1; 32]).unwrap();
        assert!(other.open(b"ns/a", &sealed).is_err());
        let mut altered = sealed.clone();
        *altered.last_mut().unwrap() ^= 1;
        assert!(key.open(b"ns/a", &altered).is_err());
        assert!(key.open(b"ns/a", &sealed[..10]).is_err());
        // Two seals of the same value differ (random nonce).
        assert_ne!(key.seal(b"ns/a", b"pw").unwrap(), sealed);
        assert_eq!(bytes.expose_secret().len(), 32);
        assert!(SealingKey::from_bytes(&[0; 16]).is_err());
        assert_eq!(format!("{key:?}"), "SealingKey([redacted])");
    }
}
