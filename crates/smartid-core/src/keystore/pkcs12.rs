//! PKCS#12 through p12-keystore: OpenSSL 3 (PBES2/AES-256, HMAC-SHA256),
//! OpenSSL `-legacy` (RC2/3DES, HMAC-SHA1), keytool keystores and
//! truststores, `-nokeys` truststores and the password-less JDK 18+ `cacerts`.

#[cfg(feature = "pkcs12")]
use p12_keystore::Pkcs12Archive;

use crate::cert::Certificate;
use crate::error::{Error, Result};
use crate::keystore::key::PrivateKey;

pub(crate) struct RawKey {
    pub(crate) alias: Option<String>,
    pub(crate) local_key_id: Option<Vec<u8>>,
    pub(crate) key: PrivateKey,
}

pub(crate) struct RawCert {
    pub(crate) alias: Option<String>,
    pub(crate) local_key_id: Option<Vec<u8>>,
    pub(crate) cert: Certificate,
}

/// Without the `pkcs12` feature: a PKCS#12 file is recognised and refused
/// with what to do.
#[cfg(not(feature = "pkcs12"))]
pub(crate) fn parse(
    _data: &[u8],
    _password: Option<&str>,
    source_name: &str,
) -> Result<(Vec<RawKey>, Vec<RawCert>)> {
    Err(Error::UnsupportedFormat {
        source_name: source_name.to_owned(),
        detail: "a PKCS#12 keystore, but smartid-core was built without its `pkcs12` \
                 feature (on by default); enable it to read this file (a truststore can \
                 also be converted to PEM: openssl pkcs12 -in FILE -nokeys)"
            .to_owned(),
    })
}

#[cfg(feature = "pkcs12")]
pub(crate) fn parse(
    data: &[u8],
    password: Option<&str>,
    source_name: &str,
) -> Result<(Vec<RawKey>, Vec<RawCert>)> {
    let iterations = crate::keystore::der::pkcs12_kdf_iterations(data);
    if iterations > crate::keystore::der::MAX_PKCS12_KDF_ITERATIONS {
        return Err(Error::UnsupportedFormat {
            source_name: source_name.to_owned(),
            detail: format!(
                "PKCS#12 asking for {iterations} key-derivation iterations in all, more than the {} \
                 this library spends on one file; re-export it with ordinary settings \
                 (openssl pkcs12 -export, or keytool -importkeystore)",
                crate::keystore::der::MAX_PKCS12_KDF_ITERATIONS
            ),
        });
    }
    let archive = Pkcs12Archive::from_pkcs12(data, password.unwrap_or("")).map_err(|e| {
        use p12_keystore::error::Error as P;
        match e {
            P::MacError(_) | P::UnpadError if password.is_none() => Error::PasswordRequired {
                source_name: source_name.to_owned(),
            },
            P::MacError(_) | P::UnpadError | P::InvalidPrivateKey => Error::WrongPassword {
                source_name: source_name.to_owned(),
            },
            P::UnsupportedEncryptionScheme | P::UnsupportedMacAlgorithm => {
                Error::UnsupportedFormat {
                    source_name: source_name.to_owned(),
                    detail: format!(
                        "PKCS#12 with an unsupported algorithm ({e}); re-export it with \
                         OpenSSL 3 defaults (openssl pkcs12 -export)"
                    ),
                }
            }
            other => Error::UnsupportedFormat {
                source_name: source_name.to_owned(),
                detail: format!("damaged PKCS#12 file ({other})"),
            },
        }
    })?;
    let keys = archive
        .keys
        .into_iter()
        .map(|bag| RawKey {
            alias: bag.friendly_name,
            local_key_id: bag.local_key_id.map(|id| id.0),
            key: PrivateKey::pkcs8(bag.key.as_der().to_vec()),
        })
        .collect();
    let certs = archive
        .certs
        .into_iter()
        .map(|bag| {
            Ok(RawCert {
                alias: bag.friendly_name,
                local_key_id: bag.local_key_id,
                cert: Certificate::from_der(bag.cert.as_der(), source_name)?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok((keys, certs))
}

#[cfg(test)]
mod tests {
    use crate::error::Error;
    use crate::keystore::Keystore;
    use crate::secret::Secret;

    /// The same file is read with the feature and refused, saying which
    /// feature, without it (CI runs this test both ways).
    #[test]
    fn a_pkcs12_file_is_read_only_with_the_feature() {
        let bytes = include_bytes!("../../tests/fixtures/client-openssl3.p12");
        let password = Secret::new("fixture-pw");
        let read = Keystore::from_bytes(bytes, "client-openssl3.p12", Some(&password));
        if cfg!(feature = "pkcs12") {
            let keystore = read.unwrap();
            assert_eq!(keystore.identities().count(), 1);
        } else {
            let e = read.unwrap_err();
            assert!(matches!(e, Error::UnsupportedFormat { .. }), "{e}");
            let text = e.to_string();
            assert!(text.contains("`pkcs12`"), "{text}");
            assert!(text.contains("client-openssl3.p12"), "{text}");
        }
    }
}
