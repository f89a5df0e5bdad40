//! Do Identity Manager's Messaging Server entry and Hermod's client
//! settings agree?

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
