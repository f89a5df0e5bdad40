//! What a CIBA flow looks like in a [`FlowStore`]: the stored state (the
//! [`PendingAuth`] with its schedule), the alias of a ping-mode flow (a
//! hash of its notification token, never the token) and the outcome (the
//! tokens, always sealed, or the error that ended the flow).

use std::time::SystemTime;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde::{Deserialize, Serialize};
use smartid_core::Secret;
use smartid_core::store::{FlowRecord, SealingKey, StoreError};

use crate::error::Error;
use crate::pending::PendingAuth;
use crate::provider_code::ProviderCode;
use crate::provider_error::{ErrorCode, ProviderError};
use crate::tokens::Tokens;

/// The store namespace of CIBA flows.
pub const FLOW_NAMESPACE: &str = "audkenni";

/// The version of the stored flow's format (state and outcome) this release
/// writes and the newest it reads. A record of a newer format is refused
/// with [`Error::Store`] ([`StoreError::Incompatible`]).
pub const FLOW_FORMAT: u32 = 1;

/// The state of a stored flow.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct StoredFlow {
    pub(crate) format: u32,
    pub(crate) pending: PendingAuth,
    /// Ping mode: the provider calls back; nobody polls before the ping.
    #[serde(default)]
    pub(crate) ping: bool,
    /// Transient poll failures in a row (for the retry policy).
    #[serde(default)]
    pub(crate) failures: u32,
}

impl StoredFlow {
    pub(crate) fn encode(&self) -> Result<Vec<u8>, Error> {
        serde_json::to_vec(self).map_err(|e| {
            Error::Store(StoreError::Failed {
                reason: format!("the flow state could not be encoded ({e})"),
            })
        })
    }

    /// Reads the state of `record`: refuses newer formats, migrates older.
    pub(crate) fn decode(record: &FlowRecord) -> Result<Self, Error> {
        check_format(record, record.format)?;
        let flow: Self = serde_json::from_slice(&record.state).map_err(|e| corrupt(record, e))?;
        check_format(record, flow.format)?;
        Ok(flow)
    }

    /// When the flow wants work: the next poll, or its expiry (ping mode,
    /// or when the next poll would come after it).
    pub(crate) fn due(&self) -> SystemTime {
        let expires = self.pending.expires_at();
        if self.ping {
            expires
        } else {
            self.pending.next_poll_at().min(expires)
        }
    }
}

fn check_format(record: &FlowRecord, format: u32) -> Result<(), Error> {
    if format > FLOW_FORMAT {
        return Err(Error::Store(StoreError::Incompatible {
            what: format!("the stored CIBA flow {}/{}", record.namespace, record.id),
            found: format,
            supported: FLOW_FORMAT,
            remedy: "a newer release of audkenni-ciba wrote it: upgrade this replica".into(),
        }));
    }
    if format == 0 {
        return Err(Error::Store(StoreError::Corrupt {
            namespace: record.namespace.clone(),
            id: record.id.clone(),
            reason: "format 0 is not a CIBA flow format".into(),
        }));
    }
    Ok(())
}

fn corrupt(record: &FlowRecord, e: serde_json::Error) -> Error {
    Error::Store(StoreError::Corrupt {
        namespace: record.namespace.clone(),
        id: record.id.clone(),
        // serde's position only: never the state's text.
        reason: format!(
            "not a CIBA flow ({:?} error at line {} column {})",
            e.classify(),
            e.line(),
            e.column()
        ),
    })
}

/// The alias of a ping-mode flow: the SHA-256 of its notification token,
/// hex. The token itself is never stored.
pub(crate) fn token_alias(token: &str) -> String {
    let digest = crate::crypto::backend::digest::digest(
        &crate::crypto::backend::digest::SHA256,
        token.as_bytes(),
    );
    let mut out = String::from("ping-sha256:");
    for b in digest.as_ref() {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The id of a flow in logs: `ciba-` and the first 12 hex digits of the
/// SHA-256 of its `auth_req_id` (a bearer handle, never logged itself).
pub(crate) fn flow_id(auth_req_id: &str) -> String {
    let digest = crate::crypto::backend::digest::digest(
        &crate::crypto::backend::digest::SHA256,
        auth_req_id.as_bytes(),
    );
    let mut out = String::from("ciba-");
    for b in digest.as_ref().iter().take(6) {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// How a flow ended, as stored.
#[derive(Serialize, Deserialize)]
pub(crate) struct StoredOutcome {
    format: u32,
    #[serde(flatten)]
    end: StoredEnd,
}

#[derive(Serialize, Deserialize)]
#[serde(tag = "end", rename_all = "snake_case")]
enum StoredEnd {
    /// The token answer, sealed (base64 of [`SealingKey::seal`]).
    Tokens { sealed: String },
    /// The provider's error document.
    Provider {
        error: String,
        description: Option<String>,
        status: u16,
        url: String,
    },
    /// The request expired.
    Expired { expired_at: u64 },
    /// Polling failed repeatedly.
    PollFailed { attempts: u32, last: String },
    /// The tokens were handed out in a lost answer.
    TokensLost { failed_polls: u32 },
    /// Another failure (its message, which never holds a secret).
    Failed { message: String },
}

fn seal_context(id: &str) -> Vec<u8> {
    format!("{FLOW_NAMESPACE}/{id}/outcome").into_bytes()
}

impl StoredOutcome {
    /// The outcome of a finished poll: the tokens (sealed with `key`) or the error.
    pub(crate) fn encode(
        id: &str,
        result: &Result<Tokens, Error>,
        key: &SealingKey,
    ) -> Result<Vec<u8>, Error> {
        let end = match result {
            Ok(tokens) => {
                let plain = tokens.to_secret_json()?;
                let sealed = key
                    .seal(&seal_context(id), plain.expose_secret().as_bytes())
                    .map_err(Error::Store)?;
                StoredEnd::Tokens {
                    sealed: STANDARD.encode(sealed),
                }
            }
            Err(e) => end_of(e),
        };
        serde_json::to_vec(&Self {
            format: FLOW_FORMAT,
            end,
        })
        .map_err(|e| {
            Error::Store(StoreError::Failed {
                reason: format!("the outcome could not be encoded ({e})"),
            })
        })
    }

    /// What `finish` returns for the stored outcome of `record`.
    pub(crate) fn decode(record: &FlowRecord, key: &SealingKey) -> Result<Tokens, Error> {
        let Some(bytes) = &record.outcome else {
            return Err(Error::Store(StoreError::Failed {
                reason: "the flow has no outcome yet".into(),
            }));
        };
        let outcome: Self = serde_json::from_slice(bytes).map_err(|e| corrupt(record, e))?;
        check_format(record, outcome.format)?;
        match outcome.end {
            StoredEnd::Tokens { sealed } => {
                let refused = |reason: String| {
                    Error::Store(StoreError::Corrupt {
                        namespace: record.namespace.clone(),
                        id: record.id.clone(),
                        reason,
                    })
                };
                let sealed = STANDARD
                    .decode(sealed.as_bytes())
                    .map_err(|_| refused("the sealed tokens are not base64".into()))?;
                let plain = key.open(&seal_context(&record.id), &sealed).map_err(|e| {
                    refused(format!(
                        "{e} (every replica must be given the same sealing key)"
                    ))
                })?;
                Tokens::from_secret_json(plain.expose_secret())
                    .ok_or_else(|| refused("the opened tokens are not a token answer".into()))
            }
            StoredEnd::Provider {
                error,
                description,
                status,
                url,
            } => Err(Error::Server(ProviderError {
                code: ErrorCode::parse(&error),
                provider_code: description.as_deref().and_then(ProviderCode::find_in),
                description,
                status,
                url,
            })),
            StoredEnd::Expired { expired_at } => Err(Error::Expired { expired_at }),
            StoredEnd::PollFailed { attempts, last } => Err(Error::PollFailed {
                attempts,
                last: Box::new(Error::FlowFailed { message: last }),
            }),
            StoredEnd::TokensLost { failed_polls } => Err(Error::TokensLost { failed_polls }),
            StoredEnd::Failed { message } => Err(Error::FlowFailed { message }),
        }
    }
}

fn end_of(error: &Error) -> StoredEnd {
    match error {
        Error::Server(p) => StoredEnd::Provider {
            error: p.code.as_str().to_owned(),
            description: p.description.clone(),
            status: p.status,
            url: p.url.clone(),
        },
        Error::Expired { expired_at } => StoredEnd::Expired {
            expired_at: *expired_at,
        },
        Error::PollFailed { attempts, last } => StoredEnd::PollFailed {
            attempts: *attempts,
            last: last.to_string(),
        },
        Error::TokensLost { failed_polls } => StoredEnd::TokensLost {
            failed_polls: *failed_polls,
        },
        other => StoredEnd::Failed {
            message: other.to_string(),
        },
    }
}

/// The key sealing outcomes when the caller gives none: random, in this
/// process only. Only used with an in-process [`smartid_core::store::MemoryStore`],
/// whose records never leave the process either.
pub(crate) fn process_key() -> Result<std::sync::Arc<SealingKey>, Error> {
    static KEY: std::sync::OnceLock<std::sync::Arc<SealingKey>> = std::sync::OnceLock::new();
    if let Some(k) = KEY.get() {
        return Ok(k.clone());
    }
    let (key, _bytes) = SealingKey::generate().map_err(Error::Store)?;
    Ok(KEY.get_or_init(|| std::sync::Arc::new(key)).clone())
}

/// A random replica name.
pub(crate) fn random_replica() -> String {
    let mut bytes = [0u8; 8];
    let _ = smartid_core::internal::fill_random(&mut bytes);
    let mut out = String::from("replica-");
    for b in bytes {
        out.push_str(&format!("{b:02x}"));
    }
    out
}

/// The notification token of a request, hashed as the alias.
pub(crate) fn alias_of(token: Option<&Secret>) -> Option<String> {
    token.map(|t| token_alias(t.expose_secret()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use smartid_core::store::{FlowStore, MemoryStore, NewFlow};

    #[test]
    fn the_alias_is_a_hash_not_the_token() {
        let a = token_alias("ping-token-0123456789abcdef");
        assert!(!a.contains("ping-token"));
        assert_eq!(a.len(), "ping-sha256:".len() + 64);
        assert_eq!(a, token_alias("ping-token-0123456789abcdef"));
        assert_ne!(a, token_alias("ping-token-0123456789abcdeg"));
    }

    #[tokio::test]
    async fn outcomes_are_sealed_and_errors_round_trip() {
        let store = MemoryStore::new();
        let now = SystemTime::now();
        store
            .insert(NewFlow::new(
                FLOW_NAMESPACE,
                "r1",
                FLOW_FORMAT,
                b"{}".to_vec(),
                now,
            ))
            .await
            .unwrap();
        let key = SealingKey::from_bytes(&[9; 32]).unwrap();
        let body = r#"{"access_token":"SECRET-AT","refresh_token":"SECRET-RT","token_type":"Bearer","id_token":"SECRET.ID.TOKEN"}"#;
        let response = smartid_core::HttpResponse::new(
            200,
            vec![("content-type".into(), "application/json".into())],
            body.into(),
            "https://idp/token",
        );
        let tokens = Tokens::from_response(&response).unwrap();
        let bytes = StoredOutcome::encode("r1", &Ok(tokens), &key).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(!text.contains("SECRET"), "{text}");
        store
            .complete(FLOW_NAMESPACE, "r1", bytes, now)
            .await
            .unwrap();
        let record = store.get(FLOW_NAMESPACE, "r1").await.unwrap().unwrap();
        let back = StoredOutcome::decode(&record, &key).unwrap();
        assert_eq!(back.access_token().expose_secret(), "SECRET-AT");
        assert_eq!(back.unverified_id_token(), "SECRET.ID.TOKEN");
        // Another key, or the outcome moved to another record: refused, typed.
        let other = SealingKey::from_bytes(&[8; 32]).unwrap();
        let e = StoredOutcome::decode(&record, &other).unwrap_err();
        assert!(matches!(e, Error::Store(StoreError::Corrupt { .. })), "{e}");
        assert!(e.to_string().contains("same sealing key"), "{e}");
        let mut moved = record.clone();
        moved.id = "r2".into();
        assert!(StoredOutcome::decode(&moved, &key).is_err());

        // A newer outcome format is refused.
        let mut newer = record.clone();
        newer.outcome = Some(br#"{"format":2,"end":"expired","expired_at":5}"#.to_vec());
        assert!(matches!(
            StoredOutcome::decode(&newer, &key),
            Err(Error::Store(StoreError::Incompatible { found: 2, .. }))
        ));
        let mut expired = record;
        expired.outcome = Some(br#"{"format":1,"end":"expired","expired_at":5}"#.to_vec());
        assert!(matches!(
            StoredOutcome::decode(&expired, &key),
            Err(Error::Expired { expired_at: 5 })
        ));
    }
}
