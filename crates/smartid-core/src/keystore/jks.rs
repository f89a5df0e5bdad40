//! A read-only parser for Java's JKS keystore format (`cacerts` and keytool
//! keystores), including the JKS key protector for private-key entries.
//!
//! The format: magic `FEEDFEED`, version, entry count, entries (tag 1:
//! private key with chain, tag 2: trusted certificate), and a SHA-1 digest
//! over password (UTF-16BE), the string "Mighty Aphrodite" and all preceding
//! bytes.

use crate::crypto::backend::digest;

use crate::error::{Error, Result};
use crate::keystore::der::der_tlv;
use crate::keystore::key::PrivateKey;

pub(crate) const MAGIC_JKS: [u8; 4] = [0xFE, 0xED, 0xFE, 0xED];
pub(crate) const MAGIC_JCEKS: [u8; 4] = [0xCE, 0xCE, 0xCE, 0xCE];

/// OID 1.3.6.1.4.1.42.2.17.1.1 (Sun's JKS key protector), DER content bytes.
const KEY_PROTECTOR_OID: &[u8] = &[0x2B, 0x06, 0x01, 0x04, 0x01, 0x2A, 0x02, 0x11, 0x01, 0x01];

pub(crate) enum JksEntry {
    Trusted {
        alias: String,
        cert_der: Vec<u8>,
    },
    Key {
        alias: String,
        key: PrivateKey,
        chain_der: Vec<Vec<u8>>,
    },
}

struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
    source_name: &'a str,
}

impl<'a> Reader<'a> {
    fn damaged(&self, what: &str) -> Error {
        Error::UnsupportedFormat {
            source_name: self.source_name.to_owned(),
            detail: format!("damaged JKS keystore: {what} at byte {}", self.pos),
        }
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&'a [u8]> {
        let end = self
            .pos
            .checked_add(n)
            .filter(|end| *end <= self.data.len())
            .ok_or_else(|| self.damaged(&format!("truncated {what}")))?;
        let out = &self.data[self.pos..end];
        self.pos = end;
        Ok(out)
    }

    fn u16(&mut self, what: &str) -> Result<u16> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &str) -> Result<u32> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn utf(&mut self, what: &str) -> Result<String> {
        let len = self.u16(what)? as usize;
        Ok(String::from_utf8_lossy(self.take(len, what)?).into_owned())
    }

    fn blob(&mut self, what: &str) -> Result<&'a [u8]> {
        let len = self.u32(what)? as usize;
        self.take(len, what)
    }

    fn cert(&mut self, version: u32) -> Result<Vec<u8>> {
        if version == 2 {
            let kind = self.utf("certificate type")?;
            if kind != "X.509" {
                return Err(self.damaged(&format!("certificate type {kind:?} is not X.509")));
            }
        }
        Ok(self.blob("certificate")?.to_vec())
    }
}

fn password_bytes(password: &str) -> zeroize::Zeroizing<Vec<u8>> {
    zeroize::Zeroizing::new(
        password
            .encode_utf16()
            .flat_map(|u| u.to_be_bytes())
            .collect(),
    )
}

pub(crate) fn parse(
    data: &[u8],
    password: Option<&str>,
    source_name: &str,
) -> Result<Vec<JksEntry>> {
    let mut r = Reader {
        data,
        pos: 0,
        source_name,
    };
    if r.take(4, "magic")? != MAGIC_JKS {
        return Err(r.damaged("bad magic"));
    }
    let version = r.u32("version")?;
    if version != 1 && version != 2 {
        return Err(r.damaged(&format!("unknown version {version}")));
    }
    let count = r.u32("entry count")?;
    let mut raw = Vec::new();
    for _ in 0..count {
        let tag = r.u32("entry tag")?;
        let alias = r.utf("alias")?;
        r.take(8, "timestamp")?;
        match tag {
            1 => {
                let protected = r.blob("private key")?;
                let chain_len = r.u32("chain length")?;
                let mut chain = Vec::new();
                for _ in 0..chain_len {
                    chain.push(r.cert(version)?);
                }
                raw.push((alias, Some(protected), chain));
            }
            2 => {
                let cert = r.cert(version)?;
                raw.push((alias, None, vec![cert]));
            }
            3 => {
                return Err(Error::UnsupportedFormat {
                    source_name: source_name.to_owned(),
                    detail: "the keystore holds secret-key entries (JCEKS); convert it with \
                             keytool -importkeystore -deststoretype pkcs12"
                        .into(),
                });
            }
            other => return Err(r.damaged(&format!("unknown entry tag {other}"))),
        }
    }
    let body_len = r.pos;
    let stored_digest = r.take(20, "integrity digest")?;
    if let Some(pw) = password {
        let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(&password_bytes(pw));
        ctx.update(b"Mighty Aphrodite");
        ctx.update(&data[..body_len]);
        if ctx.finish().as_ref() != stored_digest {
            return Err(Error::WrongPassword {
                source_name: source_name.to_owned(),
            });
        }
    }
    raw.into_iter()
        .map(|(alias, protected, mut chain)| match protected {
            None => Ok(JksEntry::Trusted {
                alias,
                cert_der: chain.remove(0),
            }),
            Some(protected) => {
                let pw = password.ok_or_else(|| Error::PasswordRequired {
                    source_name: source_name.to_owned(),
                })?;
                let key = unprotect_key(protected, pw, source_name)?;
                Ok(JksEntry::Key {
                    alias,
                    key,
                    chain_der: chain,
                })
            }
        })
        .collect()
}

/// Sun's JKS key protector: salt(20) || (key XOR SHA-1 keystream) || SHA-1(password || key).
fn unprotect_key(epki: &[u8], password: &str, source_name: &str) -> Result<PrivateKey> {
    let damaged = || Error::InvalidKey {
        source_name: source_name.to_owned(),
        detail: "damaged JKS private-key entry".into(),
    };
    let (tag, seq, _) = der_tlv(epki).ok_or_else(damaged)?;
    if tag != 0x30 {
        return Err(damaged());
    }
    let (tag, alg, rest) = der_tlv(seq).ok_or_else(damaged)?;
    let (oid_tag, oid, _) = der_tlv(alg).ok_or_else(damaged)?;
    if tag != 0x30 || oid_tag != 0x06 {
        return Err(damaged());
    }
    if oid != KEY_PROTECTOR_OID {
        return Err(Error::InvalidKey {
            source_name: source_name.to_owned(),
            detail: "the JKS key is protected with an algorithm other than Sun's JKS key \
                     protector; convert the keystore to PKCS#12 with keytool -importkeystore"
                .into(),
        });
    }
    let (tag, protected, _) = der_tlv(rest).ok_or_else(damaged)?;
    if tag != 0x04 || protected.len() < 40 {
        return Err(damaged());
    }
    let (salt, rest) = protected.split_at(20);
    let (encrypted, check) = rest.split_at(rest.len() - 20);
    let pw = password_bytes(password);
    let mut plain = zeroize::Zeroizing::new(Vec::with_capacity(encrypted.len()));
    let mut block = salt.to_vec();
    for chunk in encrypted.chunks(20) {
        let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
        ctx.update(&pw);
        ctx.update(&block);
        block = ctx.finish().as_ref().to_vec();
        plain.extend(chunk.iter().zip(&block).map(|(c, k)| c ^ k));
    }
    let mut ctx = digest::Context::new(&digest::SHA1_FOR_LEGACY_USE_ONLY);
    ctx.update(&pw);
    ctx.update(&plain);
    if ctx.finish().as_ref() != check {
        return Err(Error::WrongPassword {
            source_name: source_name.to_owned(),
        });
    }
    Ok(PrivateKey::pkcs8(plain.to_vec()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn truncated_and_hostile_input_gives_errors() {
        let mut data = MAGIC_JKS.to_vec();
        data.extend(2u32.to_be_bytes());
        data.extend(u32::MAX.to_be_bytes()); // absurd count
        data.extend(2u32.to_be_bytes());
        data.extend(u16::MAX.to_be_bytes()); // alias longer than the data
        assert!(matches!(
            parse(&data, None, "t"),
            Err(Error::UnsupportedFormat { .. })
        ));
        for n in 0..data.len() {
            assert!(parse(&data[..n], Some("x"), "t").is_err());
        }
    }
}
