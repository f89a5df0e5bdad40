//! Diagnostics: every problem found in one pass, with file, line, severity,
//! a stable code and a message that says what to change.

use std::fmt;

/// How bad a problem is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Severity {
    /// Worth a look; the configuration still works.
    Warning,
    /// The configuration will not work as it is.
    Error,
}

impl Severity {
    /// `"error"` or `"warning"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Warning => "warning",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

macro_rules! codes {
    ($( $(#[$doc:meta])* $variant:ident = $code:literal, )*) => {
        /// A stable diagnostic code. Every code is listed, with examples, in
        /// `docs/idm-config.md`; codes are never reused for another meaning.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        #[non_exhaustive]
        pub enum Code {
            $( $(#[$doc])* $variant, )*
        }

        impl Code {
            /// Every code, in documentation order.
            pub const ALL: &'static [Code] = &[$(Code::$variant,)*];

            /// The code as printed, e.g. `P001`.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( Code::$variant => $code, )*
                }
            }
        }
    };
}

codes! {
    /// `.properties`: a `\u` escape not followed by four hex digits (Java refuses to load the file).
    MalformedUnicodeEscape = "P001",
    /// `.properties`: the same key is set more than once; the last one wins.
    DuplicateKey = "P002",
    /// `.properties`: non-ASCII text stored as UTF-8, which Java's `Properties.load(InputStream)` would read as ISO-8859-1.
    NonAsciiUtf8 = "P003",
    /// `.properties`: a `\u` escape that is half of a UTF-16 surrogate pair.
    LoneSurrogate = "P004",
    /// `.properties`: the last line ends with a continuation backslash.
    ContinuationAtEnd = "P005",
    /// `.properties` read as UTF-8 (`ReadEncoding::Utf8`): bytes that are not UTF-8 were replaced by U+FFFD, as Java's UTF-8 reader does.
    InvalidUtf8Replaced = "P006",
    /// D-Trust: `certificateTemplates` is missing.
    TemplatesMissing = "D001",
    /// D-Trust: `certificateTemplates` is empty.
    TemplatesEmpty = "D002",
    /// D-Trust: only one of `namespaceURI` and `localPart` is set.
    SoapHalfConfigured = "D003",
    /// D-Trust: `namespaceURI` or `localPart` is present but empty.
    SoapKeyEmpty = "D004",
    /// D-Trust: the legacy SOAP transport is configured.
    SoapDeprecated = "D005",
    /// D-Trust: no service URL (a warning when absent, an error when empty).
    UrlMissing = "D006",
    /// D-Trust: `url` is not an absolute `https` URL.
    UrlInvalid = "D007",
    /// D-Trust: `p12File` is present but empty (the PKCS#12 is found by content).
    P12FileMissing = "D008",
    /// D-Trust: `serverCertificate` is present but empty (the certificate is found by content).
    ServerCertificateMissing = "D009",
    /// D-Trust: `proxyHost` without `proxyPort` or the other way round.
    ProxyIncomplete = "D010",
    /// D-Trust: `proxyPort` is not a port number.
    ProxyPortInvalid = "D011",
    /// D-Trust: a key this project does not know (possibly a typo).
    UnknownKey = "D012",
    /// D-Trust: a product mapping (`tokenProcedure.*`) without `keyArchive`.
    MappingWithoutKeyArchive = "D013",
    /// D-Trust: `keyArchive` without any product mapping.
    KeyArchiveWithoutMapping = "D014",
    /// D-Trust: `keyArchive` or a product mapping is present but empty.
    KeyArchiveEmpty = "D015",
    /// D-Trust: proxy credentials, which the connector does not support.
    ProxyAuthUnsupported = "D016",
    /// D-Trust: `p12Password` is present but empty.
    P12PasswordEmpty = "D017",
    /// D-Trust: a file name that is not a plain name inside the bundle (only its last part is used).
    FileNameNotPlain = "D018",
    /// D-Trust: one setting written under two of its accepted spellings.
    KeySpelledTwice = "D019",
    /// Certificate templates: an empty element or an element that cannot be read.
    TemplateSyntax = "T001",
    /// Certificate templates: the CN value itself contains `CN=` (D-Trust answers `GENERIC_RDN_REGEXERROR`).
    TemplateCnContainsCn = "T002",
    /// Certificate templates: an e-mail domain outside the verified list (D-Trust answers `EMAILDOMAIN_DOES_NOT_FIT`).
    TemplateEmailDomain = "T003",
    /// Certificate templates: the same product is listed twice.
    TemplateDuplicate = "T004",
    /// Certificate templates: a malformed e-mail address.
    TemplateEmailInvalid = "T005",
    /// Bundle: a file the properties refer to is not in the zip.
    BundleFileMissing = "B001",
    /// Bundle: the PKCS#12 does not open with `p12Password`.
    BundleWrongPassword = "B002",
    /// Bundle: the PKCS#12 holds no usable private key with a matching certificate.
    BundleNoIdentity = "B003",
    /// Bundle: the client certificate has expired (or is not yet valid).
    BundleClientExpired = "B004",
    /// Bundle: the client certificate expires within 30 days.
    BundleClientExpiring = "B005",
    /// Bundle: the server `.cer` is not a certificate.
    BundleServerNotCertificate = "B006",
    /// Bundle: the server certificate has expired.
    BundleServerExpired = "B007",
    /// Bundle: no `.properties` file in the zip.
    BundleNoProperties = "B008",
    /// Bundle: more than one `.properties` file in the zip.
    BundleSeveralProperties = "B009",
    /// Bundle: a file in the zip that nothing refers to.
    BundleExtraFile = "B010",
    /// Bundle: the server certificate expires within 30 days.
    BundleServerExpiring = "B011",
    /// Bundle: the zip is damaged or truncated.
    BundleUnreadable = "B012",
    /// Bundle: an entry name is absolute or contains `..`.
    BundleUnsafeEntry = "B013",
    /// Bundle: too many entries or too large once uncompressed (zip bomb).
    BundleTooLarge = "B014",
    /// Bundle: no PKCS#12 in the zip (recognised by content).
    BundleNoKeystore = "B015",
    /// Bundle: no certificate in the zip (recognised by content) for the D-Trust server.
    BundleNoServerCertificate = "B016",
    /// Bundle: several files could be the PKCS#12 or the server certificate, and no key names one.
    BundleAmbiguous = "B017",
    /// Certificate Manager: `caTokenProcedureImportCert` is missing or empty.
    CmImportProcedureMissing = "C001",
    /// Messaging Server: the URL cannot be parsed.
    MessagingUrlInvalid = "M001",
    /// Messaging Server: the URL is not HTTPS.
    MessagingUrlNotHttps = "M002",
    /// Messaging Server: the URL does not end in `command`.
    MessagingUrlNotCommand = "M003",
    /// Messaging Server: the authentication token is not base64.
    TokenNotBase64 = "M004",
    /// Messaging Server: the token does not decode to `client-id:key`.
    TokenNotClientIdKey = "M005",
    /// Messaging Server: timeout for SessionStart is not shorter than the timeout.
    SessionStartNotBelowTimeout = "M006",
    /// Messaging Server: timeout is not shorter than the lifespan.
    TimeoutNotBelowLifespan = "M007",
    /// Messaging Server: a duration of zero seconds.
    DurationZero = "M008",
    /// Messaging Server: a required field is missing or empty.
    MessagingFieldMissing = "M009",
    /// Messaging Server: the entry is not valid JSON of the expected shape.
    MessagingJson = "M010",
    /// Hermod: `callback-url` is missing.
    HermodCallbackMissing = "H001",
    /// Hermod: `callback-url` uses plain HTTP (a warning: seed 000 allows it) or is not a URL (an error).
    HermodCallbackNotHttps = "H002",
    /// Hermod: `public-url` is not an HTTPS URL.
    HermodPublicUrlNotHttps = "H003",
    /// Hermod: client id or key is missing.
    HermodClientIncomplete = "H004",
    /// Hermod: the same setting is spelt both camelCase and kebab-case.
    HermodBothSpellings = "H005",
    /// Hermod: `callback-basic-auth` is not `user:password`.
    HermodBasicAuthInvalid = "H006",
    /// Hermod: the file is not valid JSON of the expected shape.
    HermodJson = "H007",
    /// Hermod: `callback-basic-auth` does not match the credentials the callback receiver is configured with.
    HermodCallbackCredentials = "H008",
    /// Hermod: the content provider (`content-provider-url` and its basic auth) is incomplete or insecure.
    HermodContentProvider = "H009",
    /// Agreement: no Hermod client has the Messaging Server's client id.
    AgreementClientUnknown = "A001",
    /// Agreement: the key differs between Identity Manager and Hermod.
    AgreementKeyMismatch = "A002",
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One problem: where, how bad, which rule, and what to change.
///
/// `Display` prints `FILE:LINE: error[CODE]: message` (`FILE: ...` when
/// there is no line). Messages never contain a password or key.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Diagnostic {
    /// The file (or the zip and the entry inside it, as `bundle.zip!dtrust.properties`).
    pub file: String,
    /// The 1-based line, where there is one.
    pub line: Option<usize>,
    /// Error or warning.
    pub severity: Severity,
    /// The stable code.
    pub code: Code,
    /// What is wrong and what to change.
    pub message: String,
}

impl Diagnostic {
    /// An error.
    pub fn error(file: &str, line: Option<usize>, code: Code, message: impl Into<String>) -> Self {
        Self {
            file: file.to_owned(),
            line,
            severity: Severity::Error,
            code,
            message: message.into(),
        }
    }

    /// A warning.
    pub fn warning(
        file: &str,
        line: Option<usize>,
        code: Code,
        message: impl Into<String>,
    ) -> Self {
        Self {
            severity: Severity::Warning,
            ..Self::error(file, line, code, message)
        }
    }

    /// Whether this is an error (not a warning).
    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

impl fmt::Display for Diagnostic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{line}: ", self.file)?,
            None => write!(f, "{}: ", self.file)?,
        }
        write!(f, "{}[{}]: {}", self.severity, self.code, self.message)
    }
}

/// Whether any of the diagnostics is an error.
pub fn has_errors(diagnostics: &[Diagnostic]) -> bool {
    diagnostics.iter().any(Diagnostic::is_error)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_has_file_line_severity_and_code() {
        let d = Diagnostic::error("a.properties", Some(3), Code::TemplatesEmpty, "fix it");
        assert_eq!(d.to_string(), "a.properties:3: error[D002]: fix it");
        let w = Diagnostic::warning("b.zip", None, Code::BundleExtraFile, "x");
        assert_eq!(w.to_string(), "b.zip: warning[B010]: x");
    }

    #[test]
    fn codes_are_unique() {
        let mut seen = std::collections::BTreeSet::new();
        for code in Code::ALL {
            assert!(seen.insert(code.as_str()), "duplicate {code}");
        }
    }
}
