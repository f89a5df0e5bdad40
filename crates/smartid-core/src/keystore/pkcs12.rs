//! PKCS#12 through p12-keystore: OpenSSL 3 (PBES2/AES-256, HMAC-SHA256),
//! OpenSSL `-legacy` (RC2/3DES, HMAC-SHA1), keytool keystores and
//! truststores, `-nokeys` truststores and the password-less JDK 18+ `cacerts`.

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
