//! Secrets: passwords, keys and tokens that must never reach a log.

use std::fmt;

use zeroize::Zeroize;

/// A password, key or token.
///
/// `Debug` prints `Secret([redacted])`, there is no `Display`, and the memory
/// is zeroized when the value is dropped. Read it with the explicitly named
/// [`Secret::expose_secret`].
///
/// ```
/// use smartid_core::Secret;
///
/// let password = Secret::new("123456");
/// assert_eq!(format!("{password:?}"), "Secret([redacted])");
/// assert_eq!(password.expose_secret(), "123456");
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value. Call this only where the value is sent or used.
    pub fn expose_secret(&self) -> &str {
        &self.0
    }

    /// Whether the secret is the empty string.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

impl From<&str> for Secret {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

impl<'de> serde::Deserialize<'de> for Secret {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self)
    }
}

/// Serde helpers for a caller who deliberately stores a [`Secret`] (for
/// example a flow's state sealed in its own database).
///
/// `Secret` implements `Deserialize` (reading a configuration is normal) but
/// not `Serialize`: a secret never reaches a serialized form by accident.
/// Where a value must be written, name this module on the field:
///
/// ```
/// use smartid_core::Secret;
///
/// #[derive(serde::Serialize, serde::Deserialize)]
/// struct Stored {
///     #[serde(with = "smartid_core::expose_secret_serde")]
///     token: Secret,
/// }
///
/// let json = serde_json::to_string(&Stored { token: Secret::new("t0k3n") })?;
/// assert_eq!(json, r#"{"token":"t0k3n"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
pub mod expose_secret_serde {
    use super::Secret;

    /// Writes the secret's value.
    ///
    /// # Errors
    /// Whatever the serializer returns.
    pub fn serialize<S: serde::Serializer>(
        secret: &Secret,
        serializer: S,
    ) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(secret.expose_secret())
    }

    /// Reads a secret's value.
    ///
    /// # Errors
    /// Whatever the deserializer returns.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(
        deserializer: D,
    ) -> Result<Secret, D::Error> {
        serde::Deserialize::deserialize(deserializer)
    }

    /// The same for an optional secret: `#[serde(with = "smartid_core::expose_secret_serde::option")]`.
    pub mod option {
        use super::Secret;

        /// Writes the secret's value, or `null`.
        ///
        /// # Errors
        /// Whatever the serializer returns.
        pub fn serialize<S: serde::Serializer>(
            secret: &Option<Secret>,
            serializer: S,
        ) -> Result<S::Ok, S::Error> {
            match secret {
                Some(s) => serializer.serialize_some(s.expose_secret()),
                None => serializer.serialize_none(),
            }
        }

        /// Reads an optional secret.
        ///
        /// # Errors
        /// Whatever the deserializer returns.
        pub fn deserialize<'de, D: serde::Deserializer<'de>>(
            deserializer: D,
        ) -> Result<Option<Secret>, D::Error> {
            serde::Deserialize::deserialize(deserializer)
        }
    }
}

/// Secret bytes such as a private key in DER form. Same guarantees as [`Secret`].
#[derive(Clone, PartialEq, Eq)]
pub struct SecretBytes(Vec<u8>);

impl SecretBytes {
    /// Wraps secret bytes.
    pub fn new(value: impl Into<Vec<u8>>) -> Self {
        Self(value.into())
    }

    /// The secret bytes. Call this only where the value is used.
    pub fn expose_secret(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for SecretBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretBytes([redacted; {} bytes])", self.0.len())
    }
}

impl Drop for SecretBytes {
    fn drop(&mut self) {
        self.0.zeroize();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_never_shows_the_value() {
        let s = Secret::new("hunter2-very-secret");
        assert!(!format!("{s:?}").contains("hunter2"));
        assert!(!format!("{:#?}", Some(&s)).contains("hunter2"));
        let b = SecretBytes::new(b"key-material".to_vec());
        assert!(!format!("{b:?}").contains("key-material"));
    }

    #[test]
    fn serializing_needs_the_named_helper() -> Result<(), serde_json::Error> {
        #[derive(serde::Serialize, serde::Deserialize)]
        struct Stored {
            #[serde(with = "crate::expose_secret_serde")]
            pw: Secret,
            #[serde(with = "crate::expose_secret_serde::option", default)]
            other: Option<Secret>,
        }
        let json = serde_json::to_string(&Stored {
            pw: Secret::new("pw"),
            other: None,
        })?;
        assert_eq!(json, r#"{"pw":"pw","other":null}"#);
        let back: Stored = serde_json::from_str(r#"{"pw":"pw","other":"x"}"#)?;
        assert_eq!(back.pw, Secret::new("pw"));
        assert_eq!(back.other, Some(Secret::new("x")));
        // Reading a plain secret (from configuration) works without the helper.
        let plain: Secret = serde_json::from_str("\"pw\"")?;
        assert_eq!(plain.expose_secret(), "pw");
        Ok(())
    }
}
