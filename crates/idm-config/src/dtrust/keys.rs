//! The keys of the D-Trust connector file, as named by the seed or chosen by
//! this project (see `docs/idm-config.md`).

/// D-Trust service URL: REST base URL, or SOAP endpoint (this project's name).
pub const URL: &str = "url";
/// File name of the client PKCS#12 inside the bundle (this project's name).
pub const P12_FILE: &str = "p12File";
/// Password of the client PKCS#12 (seed; default 123456).
pub const P12_PASSWORD: &str = "p12Password";
/// File name of the D-Trust server certificate inside the bundle (this project's name).
pub const SERVER_CERTIFICATE: &str = "serverCertificate";
/// SOAP only: the service's WSDL target namespace (seed).
pub const NAMESPACE_URI: &str = "namespaceURI";
/// SOAP only: the service name (seed).
pub const LOCAL_PART: &str = "localPart";
/// HTTP proxy host (this project's name).
pub const PROXY_HOST: &str = "proxyHost";
/// HTTP proxy port (this project's name).
pub const PROXY_PORT: &str = "proxyPort";
/// Name of the Certificate Manager connector used for key backup (seed).
pub const KEY_ARCHIVE: &str = "keyArchive";
/// Prefix of the product -> CM token procedure mapping:
/// `tokenProcedure.<product>=<procedure>` (this project's name).
pub const TOKEN_PROCEDURE_PREFIX: &str = "tokenProcedure.";
/// The semicolon-delimited certificate templates (seed; required).
pub const CERTIFICATE_TEMPLATES: &str = "certificateTemplates";
/// The e-mail domains verified at D-Trust, `;` or `,` separated; read
/// only by this crate's checks (this project's name).
pub const VERIFIED_EMAIL_DOMAINS: &str = "verifiedEmailDomains";
/// Seed 003, key backup step 5 ("extend for the connector"): the CM
/// token procedure for importing the certificate; usually in
/// `Nexus_CM.properties`, accepted in the D-Trust file too.
pub const CA_TOKEN_PROCEDURE_IMPORT_CERT: &str = "caTokenProcedureImportCert";

/// Spellings read for the service URL, first wins (inferred: the seed
/// mentions "the new URL for the REST interface" but its example line
/// is not public).
pub const URL_ALIASES: &[&str] = &[
    URL,
    "URL",
    "serviceUrl",
    "serviceURL",
    "restUrl",
    "baseUrl",
    "endpoint",
    "endpointUrl",
    "dtrustUrl",
    "wsdlUrl",
    "wsdlLocation",
];
/// Spellings read for the PKCS#12 file name (inferred; the seed says
/// the properties hold the "P12 file path"). Optional: the PKCS#12 is
/// found by content.
pub const P12_FILE_ALIASES: &[&str] = &[
    P12_FILE,
    "p12Path",
    "p12FilePath",
    "p12FileName",
    "p12",
    "keyStore",
    "keystore",
    "keyStoreFile",
    "clientKeystore",
];
/// Spellings read for the server certificate file name (inferred).
/// Optional: the certificate is found by content.
pub const SERVER_CERTIFICATE_ALIASES: &[&str] = &[
    SERVER_CERTIFICATE,
    "serverCert",
    "serverCertificateFile",
    "serverCertificatePath",
    "sslCertificate",
    "trustCertificate",
    "caCertificate",
];
/// Spellings read for the proxy host (inferred; the seed names only
/// "hostname / IP of the proxy").
pub const PROXY_HOST_ALIASES: &[&str] = &[
    PROXY_HOST,
    "proxyhost",
    "proxy.host",
    "proxyHostname",
    "https.proxyHost",
    "http.proxyHost",
];
/// Spellings read for the proxy port (inferred).
pub const PROXY_PORT_ALIASES: &[&str] = &[
    PROXY_PORT,
    "proxyport",
    "proxy.port",
    "https.proxyPort",
    "http.proxyPort",
];
/// Prefixes read for the product -> token procedure mapping (inferred);
/// a key that is exactly a product of `certificateTemplates` is read as
/// a mapping too.
pub const TOKEN_PROCEDURE_PREFIXES: &[&str] = &[
    TOKEN_PROCEDURE_PREFIX,
    "tokenprocedure.",
    "tokenProcedures.",
    "cmTokenProcedure.",
    "product.",
];
/// Spellings read for the verified e-mail domains (this project's own key).
pub const VERIFIED_EMAIL_DOMAINS_ALIASES: &[&str] =
    &[VERIFIED_EMAIL_DOMAINS, "verifiedDomains", "emailDomains"];
