//! D-Trust's error codes, with the likely cause and the remedy for each.

use std::fmt;

smartid_core::vocabulary! {
    /// The error codes D-Trust sends (`errorCode`, or the SOAP fault's
    /// `detail/error/code`) that this client knows, from the Identity
    /// Manager troubleshooting guide; any other code is kept as
    /// [`ServerErrorCode::Other`].
    pub enum ServerErrorCode {
        /// An attribute of the subject DN fails the product's pattern.
        RdnPattern = "GENERIC_RDN_REGEXERROR",
        /// An e-mail address uses a domain not verified for the account.
        EmailDomainNotFit = "EMAILDOMAIN_DOES_NOT_FIT",
        /// The revocation password does not meet the product's rules.
        PasswordPattern = "GENERIC_PASSWORD_REGEXERROR",
    }
}

/// The known kinds of D-Trust errors (from the Identity Manager
/// troubleshooting guide), plus `Unknown`: a classification of the code
/// and, for the two errors D-Trust reports as text only, the message (so
/// it is not a plain code vocabulary: see [`ServerErrorCode`] for that).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerErrorKind {
    /// `GENERIC_RDN_REGEXERROR`: an attribute of the subject DN fails the
    /// product's pattern.
    RdnPattern,
    /// `EMAILDOMAIN_DOES_NOT_FIT`: an e-mail address uses a domain that is
    /// not (fully) verified for the account.
    EmailDomainNotVerified,
    /// `GENERIC_PASSWORD_REGEXERROR`: the revocation password does not meet
    /// the product's rules.
    RevocationPasswordPolicy,
    /// "Invalid request (certificate request type does not seem to match
    /// its content)": a PKCS#10 kind without CSR or a PKCS#12 kind with one.
    RequestKindMismatch,
    /// `NullPointerException`: no revocation password and no CN to derive
    /// one from.
    MissingCommonName,
    /// A code this client does not know; the code and raw body are kept.
    Unknown,
}

/// An error reported by D-Trust: its code and message, the HTTP status and
/// the raw body, classified into a [`ServerErrorKind`] with the likely cause
/// and the remedy.
#[derive(Debug, Clone)]
pub struct ServerError {
    kind: ServerErrorKind,
    code: String,
    message: String,
    status: u16,
    body: String,
}

const REQUEST_KIND_TEXT: &str = "certificate request type does not seem to match its content";

impl ServerError {
    /// Classifies an error from its code and message. Codes are matched
    /// exactly; the request-kind mismatch and the `NullPointerException` are
    /// also recognised in the message text, as D-Trust reports them as text.
    pub fn new(code: &str, message: &str, status: u16, body: &str) -> Self {
        let text = format!("{code} {message}").to_ascii_lowercase();
        let kind = match ServerErrorCode::parse(code.trim()) {
            ServerErrorCode::RdnPattern => ServerErrorKind::RdnPattern,
            ServerErrorCode::EmailDomainNotFit => ServerErrorKind::EmailDomainNotVerified,
            ServerErrorCode::PasswordPattern => ServerErrorKind::RevocationPasswordPolicy,
            _ if text.contains(REQUEST_KIND_TEXT) => ServerErrorKind::RequestKindMismatch,
            _ if text.contains("nullpointerexception") => ServerErrorKind::MissingCommonName,
            _ => ServerErrorKind::Unknown,
        };
        Self {
            kind,
            code: code.trim().to_owned(),
            message: message.trim().to_owned(),
            status,
            body: smartid_core::internal::body_snippet(body.as_bytes()),
        }
    }

    /// The same error with every occurrence of `secret` (a password the
    /// request carried, echoed by the server) replaced; the body excerpt is
    /// made again from the whole `body`, redacted before it is cut.
    pub(crate) fn without_secret(mut self, secret: &str, body: &[u8]) -> Self {
        if !secret.is_empty() {
            self.message = self.message.replace(secret, crate::error::REDACTED);
            self.body = smartid_core::internal::body_snippet_without(body, &[secret]);
        }
        self
    }

    /// The kind of error.
    pub fn kind(&self) -> &ServerErrorKind {
        &self.kind
    }

    /// The code as sent by D-Trust (e.g. `GENERIC_RDN_REGEXERROR`).
    pub fn code(&self) -> &str {
        &self.code
    }

    /// The code, typed ([`ServerErrorCode::Other`] for codes this client
    /// does not know, and for an empty code).
    pub fn error_code(&self) -> ServerErrorCode {
        ServerErrorCode::parse(&self.code)
    }

    /// The message as sent by D-Trust.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The HTTP status of the answer.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The raw body (at most 2 KiB).
    pub fn body(&self) -> &str {
        &self.body
    }

    /// The likely cause, in words.
    pub fn likely_cause(&self) -> &'static str {
        match self.kind {
            ServerErrorKind::RdnPattern => {
                "an attribute of the subject DN does not match the product's pattern: often a \
                 certificate template put 'CN=' inside the CN value, or the product requires \
                 organisationIdentifier in the DN and it is missing or not yet set on the \
                 D-Trust account"
            }
            ServerErrorKind::EmailDomainNotVerified => {
                "an e-mail address (SAN or DN) uses a domain that is not (fully) verified for \
                 the D-Trust account"
            }
            ServerErrorKind::RevocationPasswordPolicy => {
                "the revocation password does not meet the rules of this certificate product"
            }
            ServerErrorKind::RequestKindMismatch => {
                "a PKCS#10 request kind was sent without a CSR, or a PKCS#12 kind with one"
            }
            ServerErrorKind::MissingCommonName => {
                "no revocation password was given and there is no CN to derive one from"
            }
            ServerErrorKind::Unknown => "D-Trust reported an error this client does not know",
        }
    }

    /// What to change, in words.
    pub fn remedy(&self) -> &'static str {
        match self.kind {
            ServerErrorKind::RdnPattern => {
                "remove 'CN=' from the CN value, add organisationIdentifier to the DN or have \
                 D-Trust set it on the account; the rules are in the D-Trust portal under \
                 'pre-validated data'"
            }
            ServerErrorKind::EmailDomainNotVerified => {
                "verify the domain in the D-Trust portal, or use an address of a verified domain"
            }
            ServerErrorKind::RevocationPasswordPolicy => {
                "generate a revocation password that meets the product's rules \
                 (generate_revocation_password with a matching PasswordPolicy) and store it as a secret"
            }
            ServerErrorKind::RequestKindMismatch => {
                "send a CSR with PKCS#10 kinds and none with PKCS#12 kinds; for key archive the \
                 Certificate Manager token procedures must handle PKCS#10 requests"
            }
            ServerErrorKind::MissingCommonName => {
                "pass a revocation password (recommended: a generated one) or a CN"
            }
            ServerErrorKind::Unknown => "read the code and body, and check the D-Trust portal",
        }
    }
}

impl fmt::Display for ServerError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.kind == ServerErrorKind::Unknown {
            write!(
                f,
                "D-Trust refused the request (HTTP {}) with code {}: {}; {}; raw body: {}",
                self.status,
                if self.code.is_empty() {
                    "(none)"
                } else {
                    &self.code
                },
                self.message,
                self.remedy(),
                self.body
            )
        } else {
            write!(
                f,
                "D-Trust refused the request with {}: {}. Likely cause: {}. Remedy: {}",
                if self.code.is_empty() {
                    "an error"
                } else {
                    &self.code
                },
                self.message,
                self.likely_cause(),
                self.remedy()
            )
        }
    }
}

impl std::error::Error for ServerError {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_code_of_the_table_is_classified() {
        let cases = [
            ("GENERIC_RDN_REGEXERROR", "", ServerErrorKind::RdnPattern),
            (
                "EMAILDOMAIN_DOES_NOT_FIT",
                "",
                ServerErrorKind::EmailDomainNotVerified,
            ),
            (
                "GENERIC_PASSWORD_REGEXERROR",
                "",
                ServerErrorKind::RevocationPasswordPolicy,
            ),
            (
                "INVALID_REQUEST",
                "Invalid request (certificate request type does not seem to match its content)",
                ServerErrorKind::RequestKindMismatch,
            ),
            (
                "",
                "java.lang.NullPointerException",
                ServerErrorKind::MissingCommonName,
            ),
            ("SOMETHING_NEW", "text", ServerErrorKind::Unknown),
        ];
        for (code, message, kind) in cases {
            let e = ServerError::new(code, message, 400, "{}");
            assert_eq!(e.kind(), &kind, "{code} {message}");
        }
        let e = ServerError::new(" generic_rdn_regexerror ", "", 400, "");
        assert_eq!(e.kind(), &ServerErrorKind::RdnPattern);
        assert_eq!(e.error_code(), ServerErrorCode::RdnPattern);
        assert_eq!(
            ServerError::new("NEW", "", 400, "").error_code(),
            ServerErrorCode::Other("NEW".into())
        );
    }

    #[test]
    fn messages_name_cause_and_remedy_and_unknown_keeps_the_body() {
        let e = ServerError::new("GENERIC_RDN_REGEXERROR", "CN invalid", 400, "");
        let text = e.to_string();
        assert!(
            text.contains("'CN='") && text.contains("organisationIdentifier"),
            "{text}"
        );
        let e = ServerError::new("NEW_CODE", "odd", 409, "{\"errorCode\":\"NEW_CODE\"}");
        let text = e.to_string();
        assert!(
            text.contains("NEW_CODE") && text.contains("409") && text.contains("{\"errorCode\"")
        );
    }
}
