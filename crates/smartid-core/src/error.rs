//! The core's error type.

use std::time::Duration;

/// Errors of the core: loading trust stores and identities, HTTP settings and
/// HTTP exchanges.
///
/// `source` names the file (or, for bytes in memory, the name the caller
/// gave); no message ever contains a password, key or token.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The file or directory does not exist.
    #[error(
        "{source_name}: file not found; check the path (relative paths are resolved from {cwd})"
    )]
    FileNotFound {
        /// The path as given.
        source_name: String,
        /// The working directory relative paths were resolved from.
        cwd: String,
    },
    /// The file exists but could not be read.
    #[error("{source_name}: cannot read: {message}")]
    Io {
        /// The path.
        source_name: String,
        /// What the operating system said.
        message: String,
    },
    /// The path names something other than a regular file (a directory, a
    /// FIFO, a device, a socket), which is never read as a file.
    #[error("{source_name} is a {kind}, not a regular file; give the path of the file itself")]
    NotAFile {
        /// The path.
        source_name: String,
        /// What the path names instead.
        kind: &'static str,
    },
    /// The file is longer than the limit for its kind.
    #[error(
        "{source_name} is larger than {limit} bytes, more than any file of this kind should be; check that the path names the right file"
    )]
    FileTooLarge {
        /// The path.
        source_name: String,
        /// The limit in bytes.
        limit: u64,
    },
    /// The keystore's integrity check or decryption failed with the given password.
    #[error(
        "wrong password for {source_name}: the keystore's integrity check failed; pass the password it was created with"
    )]
    WrongPassword {
        /// The keystore.
        source_name: String,
    },
    /// The keystore needs a password and none was given.
    #[error("{source_name} is encrypted: pass its password")]
    PasswordRequired {
        /// The keystore.
        source_name: String,
    },
    /// The data looked like a certificate container but holds no valid certificate.
    #[error("{source_name}: not a certificate: {detail}")]
    NotACertificate {
        /// The file.
        source_name: String,
        /// What was wrong.
        detail: String,
    },
    /// The data is in none of the supported formats.
    #[error(
        "{source_name}: unsupported format ({detail}); tried PEM, DER X.509 certificate, PKCS#12 and Java JKS"
    )]
    UnsupportedFormat {
        /// The file.
        source_name: String,
        /// What was found.
        detail: String,
    },
    /// A trust store that yields no certificate: an empty trust is never accepted.
    #[error("{source_name}: holds no trusted certificate{hint}")]
    EmptyTrustStore {
        /// The file or directory.
        source_name: String,
        /// A hint on what was found instead, starting with "; " or empty.
        hint: String,
    },
    /// No client identity (private key with certificate) was found.
    #[error(
        "{source_name}: holds no private key with a certificate; a client identity needs both (for PEM, give the key file and the certificate chain)"
    )]
    NoIdentity {
        /// The file.
        source_name: String,
    },
    /// The private key is not the key of the leaf certificate.
    #[error(
        "{source_name}: the private key does not match the certificate {subject}; the key and certificate come from different requests"
    )]
    KeyMismatch {
        /// The file.
        source_name: String,
        /// The leaf certificate's subject.
        subject: String,
    },
    /// The private key could not be used.
    #[error("{source_name}: unsupported or damaged private key: {detail}")]
    InvalidKey {
        /// The file.
        source_name: String,
        /// What was wrong.
        detail: String,
    },
    /// A keystore already has an entry under the alias a new entry was to get.
    #[error(
        "{source_name} already has an entry with alias \"{alias}\"; choose another alias (--alias) or remove the old entry first (keytool -delete -alias \"{alias}\")"
    )]
    DuplicateAlias {
        /// The keystore.
        source_name: String,
        /// The alias (as the keystore compares aliases: JKS lower-cased).
        alias: String,
    },
    /// A keystore cannot be updated without losing or changing what it holds.
    #[error("{source_name}: cannot update the keystore: {detail}")]
    KeystoreNotWritable {
        /// The keystore.
        source_name: String,
        /// Why, and what to do instead.
        detail: String,
    },
    /// A setting is invalid.
    #[error("invalid setting {field}: {message}")]
    InvalidSetting {
        /// The setting.
        field: &'static str,
        /// What to change.
        message: String,
    },
    /// TLS handshake or certificate verification failed.
    #[error("TLS with {url} failed: {message}")]
    Tls {
        /// The URL, without credentials or query.
        url: String,
        /// What failed and what to check.
        message: String,
    },
    /// The connection could not be made.
    #[error(
        "cannot connect to {url}: {message}; check the URL, the proxy settings and that the service is reachable"
    )]
    Connect {
        /// The URL, without credentials or query.
        url: String,
        /// What failed.
        message: String,
    },
    /// The connection or the request took longer than allowed.
    #[error(
        "{url} did not answer within {after:?}; check that the service is up, or raise the timeout"
    )]
    Timeout {
        /// The URL, without credentials or query.
        url: String,
        /// The timeout in force.
        after: Duration,
    },
    /// Every pooled connection stayed busy for the whole pool timeout: the
    /// request was not sent, so it is safe to send again.
    #[error(
        "{url}: all {max_connections} connections stayed busy for {waited:?}, so the request was not sent; send it again later, or raise max_connections or the pool timeout"
    )]
    PoolBusy {
        /// The URL, without credentials or query.
        url: String,
        /// The pool size in force.
        max_connections: usize,
        /// How long the request waited (the pool timeout in force).
        waited: Duration,
    },
    /// The exchange failed after the connection was made.
    #[error("HTTP exchange with {url} failed: {message}")]
    Transport {
        /// The URL, without credentials or query.
        url: String,
        /// What failed.
        message: String,
    },
    /// The server answered with an error status.
    #[error("{url} answered HTTP {status}: {body}")]
    HttpStatus {
        /// The URL, without credentials or query.
        url: String,
        /// The status code.
        status: u16,
        /// The body (cut to 2 KiB for the message; the full body is in the response).
        body: String,
    },
    /// The response body is larger than allowed.
    #[error("{url} sent more than {limit} bytes; refusing the response")]
    BodyTooLarge {
        /// The URL, without credentials or query.
        url: String,
        /// The limit in bytes.
        limit: usize,
    },
    /// The response could not be understood.
    #[error("{url} sent an invalid response: {message}")]
    InvalidResponse {
        /// The URL, without credentials or query.
        url: String,
        /// What was wrong.
        message: String,
    },
}

/// Result with the core's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;
