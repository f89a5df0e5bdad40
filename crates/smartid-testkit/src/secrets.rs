//! The secret recorder: every secret the testkit generates or its
//! simulators receive, appended to a file for a sweep to look for in logs.
//!
//! When the environment variable [`SECRETS_FILE_VAR`]
//! (`SMARTID_TESTKIT_SECRETS_FILE`) names a file, each secret is appended to
//! it as one JSON line `{"kind": "...", "value": "..."}`. Without the
//! variable nothing is done (one environment look-up, cached). Each line is
//! written with a single `write` on a file opened in append mode, so that
//! threads and processes recording at once never interleave lines.
//!
//! Recording happens at the simulator's side (what it issued, what it
//! received), so that a sweep does not rely on the code under test to
//! report its own secrets.

use std::io::Write;
use std::sync::OnceLock;

/// The environment variable that names the file secrets are appended to.
pub const SECRETS_FILE_VAR: &str = "SMARTID_TESTKIT_SECRETS_FILE";

/// What a recorded secret is. Its [`SecretKind::as_str`] is the `kind` of
/// the JSON line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SecretKind {
    /// A client secret a simulator expects.
    ClientSecret,
    /// An access token a simulator issued.
    AccessToken,
    /// A refresh token a simulator issued.
    RefreshToken,
    /// An id_token a simulator issued.
    IdToken,
    /// An `auth_req_id` a simulator issued.
    AuthReqId,
    /// A `client_notification_token` a simulator received.
    NotificationToken,
    /// An API key a simulator received or expects.
    ApiKey,
    /// Callback credentials (`user:password`) a simulator uses.
    CallbackCredentials,
    /// A revocation password a simulator received.
    RevocationPassword,
    /// A PKCS#12 password a simulator knows.
    Pkcs12Password,
    /// A private key (its PKCS#8 DER in base64, or a PEM body) the testkit
    /// generated.
    PrivateKey,
    /// A login hint or a kennitala (to be looked for in log lines only).
    Kennitala,
}

impl SecretKind {
    /// The `kind` of the JSON line.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::ClientSecret => "client_secret",
            Self::AccessToken => "access_token",
            Self::RefreshToken => "refresh_token",
            Self::IdToken => "id_token",
            Self::AuthReqId => "auth_req_id",
            Self::NotificationToken => "notification_token",
            Self::ApiKey => "api_key",
            Self::CallbackCredentials => "callback_credentials",
            Self::RevocationPassword => "revocation_password",
            Self::Pkcs12Password => "pkcs12_password",
            Self::PrivateKey => "private_key",
            Self::Kennitala => "kennitala",
        }
    }
}

fn target() -> Option<&'static std::path::Path> {
    static TARGET: OnceLock<Option<std::path::PathBuf>> = OnceLock::new();
    TARGET
        .get_or_init(|| {
            std::env::var_os(SECRETS_FILE_VAR)
                .filter(|v| !v.is_empty())
                .map(std::path::PathBuf::from)
        })
        .as_deref()
}

/// Whether recording is on (the variable was set when first asked).
pub fn recording() -> bool {
    target().is_some()
}

/// Records `value` as a secret of `kind` (nothing when recording is off or
/// `value` is empty). A failure to write is ignored: the recorder must not
/// change what the simulators do.
pub fn record(kind: SecretKind, value: &str) {
    let Some(path) = target() else {
        return;
    };
    if value.is_empty() {
        return;
    }
    let mut line = serde_json::json!({ "kind": kind.as_str(), "value": value }).to_string();
    line.push('\n');
    if let Ok(mut file) = std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(path)
    {
        let _ = file.write_all(line.as_bytes());
    }
}

/// Records a private key: its PKCS#8 DER as base64, and the body of its PEM
/// (the base64 lines between the markers, joined).
pub fn record_private_key(pkcs8_der: &[u8]) {
    if !recording() {
        return;
    }
    use base64::Engine as _;
    let b64 = base64::engine::general_purpose::STANDARD.encode(pkcs8_der);
    record(SecretKind::PrivateKey, &b64);
}

/// Records a private key given as PEM: the base64 body, joined.
pub fn record_private_key_pem(pem: &str) {
    if !recording() {
        return;
    }
    let body: String = pem
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .map(str::trim)
        .collect();
    record(SecretKind::PrivateKey, &body);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_have_stable_names() {
        assert_eq!(
            SecretKind::RevocationPassword.as_str(),
            "revocation_password"
        );
        assert_eq!(SecretKind::Kennitala.as_str(), "kennitala");
    }
}
