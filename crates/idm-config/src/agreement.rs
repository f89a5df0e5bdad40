//! Do Identity Manager's Messaging Server entry and Hermod's client
//! settings agree?

use smartid_core::Secret;

use crate::diagnostic::{Code, Diagnostic};
use crate::hermod::HermodClients;
use crate::messaging::MessagingServerEntry;

/// Checks that the token of Identity Manager's entry names a Hermod client
/// with the same key. Problems of each side alone are found by their own
/// checks; the key is never shown.
pub fn check_agreement(
    entry: &MessagingServerEntry,
    entry_file: &str,
    hermod: &HermodClients,
    hermod_file: &str,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    let Some((client_id, key)) = entry.credentials() else {
        // The entry's own check reports the undecodable token.
        return out;
    };
    match hermod.client(&client_id) {
        None => {
            let known: Vec<&str> = hermod
                .allowed_clients
                .iter()
                .map(|c| c.client_id.as_str())
                .collect();
            out.push(Diagnostic::error(
                entry_file,
                None,
                Code::AgreementClientUnknown,
                format!(
                    "the authentication token's client id `{client_id}` is not a client in {hermod_file} (clients: {}); add it to Hermod's allowed clients or fix the token",
                    if known.is_empty() { "none".to_owned() } else { known.join(", ") }
                ),
            ));
        }
        Some(client) => {
            if !constant_time_eq(
                client.key.expose_secret().as_bytes(),
                key.expose_secret().as_bytes(),
            ) {
                out.push(Diagnostic::error(
                    entry_file,
                    None,
                    Code::AgreementKeyMismatch,
                    format!(
                        "the authentication token's key for client `{client_id}` differs from the key in {hermod_file}; Hermod would refuse every command: re-enter base64({client_id}:key) with Hermod's key"
                    ),
                ));
            }
        }
    }
    out
}

fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// Checks Hermod's `callback-basic-auth` against the credentials the
/// callback receiver is configured with (seed 000: Identity Manager's user
/// for Hermod goes into Hermod's client configuration).
///
/// `client_id` limits the check to that Hermod client (e.g. the one the
/// Messaging Server entry's token names); `None` checks every client. A
/// client without `callback-basic-auth` is a warning: Hermod would send no
/// credentials and the receiver would refuse its callbacks. The password
/// is never shown; the users are shown when they differ.
///
/// ```
/// use idm_config::{check_callback_credentials, Code, HermodClients};
/// use smartid_core::Secret;
///
/// let hermod = HermodClients::from_json(
///     r#"{"client-id": "prime1", "key": "k", "callback-url": "https://idm/x", "callback-basic-auth": "hermod:s3cret"}"#,
///     "hermod.json",
/// ).value;
/// let ok = check_callback_credentials(&hermod, "hermod.json", None, "hermod", &Secret::new("s3cret"));
/// assert!(ok.is_empty());
/// let bad = check_callback_credentials(&hermod, "hermod.json", None, "hermod", &Secret::new("other"));
/// assert_eq!(bad[0].code, Code::HermodCallbackCredentials);
/// assert!(!bad[0].message.contains("s3cret") && !bad[0].message.contains("other"));
/// ```
pub fn check_callback_credentials(
    hermod: &HermodClients,
    hermod_file: &str,
    client_id: Option<&str>,
    user: &str,
    password: &Secret,
) -> Vec<Diagnostic> {
    let mut out = Vec::new();
    for client in &hermod.allowed_clients {
        if client_id.is_some_and(|id| id != client.client_id) {
            continue;
        }
        let id = &client.client_id;
        let Some(basic) = &client.callback_basic_auth else {
            out.push(Diagnostic::warning(
                hermod_file,
                None,
                Code::HermodCallbackCredentials,
                format!("client `{id}` has no callback-basic-auth, but the callback receiver requires `{user}` and a password: Hermod's callbacks would be refused; set callback-basic-auth: {user}:<password>"),
            ));
            continue;
        };
        let Some((h_user, h_password)) = basic.expose_secret().split_once(':') else {
            // Reported as H006 by the file's own check.
            continue;
        };
        let user_ok = constant_time_eq(h_user.as_bytes(), user.as_bytes());
        let password_ok =
            constant_time_eq(h_password.as_bytes(), password.expose_secret().as_bytes());
        let message = match (user_ok, password_ok) {
            (true, true) => continue,
            (false, _) => format!(
                "client `{id}`: callback-basic-auth sends user `{h_user}`, but the callback receiver expects `{user}`; Hermod's callbacks would be refused: use the Identity Manager user created for Hermod on both sides"
            ),
            (true, false) => format!(
                "client `{id}`: callback-basic-auth's password for `{user}` differs from the callback receiver's (neither is shown); Hermod's callbacks would be refused: enter the same password on both sides"
            ),
        };
        out.push(Diagnostic::error(
            hermod_file,
            None,
            Code::HermodCallbackCredentials,
            message,
        ));
    }
    out
}
