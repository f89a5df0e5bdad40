//! A test PKI generated at run time: roots, intermediates, server and client
//! certificates, exported as PEM, DER and PKCS#12 (modern and legacy).

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use p12_keystore::{
    Certificate as P12Certificate, EncryptionAlgorithm, KeyStore, KeyStoreEntry, MacAlgorithm,
    PrivateKey as P12PrivateKey, PrivateKeyChain,
};
use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use smartid_core::{Certificate, ClientIdentity, Secret, SecretBytes, TrustStore};

use crate::error::{Result, TestkitError};

/// The key algorithm of a generated certificate.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum KeyAlgorithm {
    /// ECDSA P-256 with SHA-256. The default: fast to generate.
    #[default]
    EcdsaP256,
    /// ECDSA P-384 with SHA-384.
    EcdsaP384,
    /// RSA 2048 with PKCS#1 v1.5 SHA-256 signatures.
    Rsa2048,
}

impl KeyAlgorithm {
    fn generate(self) -> Result<KeyPair> {
        let key = match self {
            Self::EcdsaP256 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?,
            Self::EcdsaP384 => KeyPair::generate_for(&rcgen::PKCS_ECDSA_P384_SHA384)?,
            Self::Rsa2048 => KeyPair::generate_for(&rcgen::PKCS_RSA_SHA256)?,
        };
        crate::secrets::record_private_key(&key.serialize_der());
        Ok(key)
    }
}

/// What a certificate is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CertUsage {
    /// TLS server (serverAuth).
    Server,
    /// TLS client (clientAuth).
    Client,
    /// Both serverAuth and clientAuth.
    ServerAndClient,
    /// A document-signing / eID user certificate (clientAuth, digitalSignature, nonRepudiation).
    Signing,
    /// An encryption-only certificate (keyEncipherment, emailProtection):
    /// not fit for signing, for negative tests.
    Encryption,
}

/// The description of an end-entity certificate to issue.
#[derive(Debug, Clone)]
pub struct CertSpec {
    subject: Vec<(DnType, String)>,
    dns_names: Vec<String>,
    ips: Vec<IpAddr>,
    emails: Vec<String>,
    usage: CertUsage,
    key: KeyAlgorithm,
    not_before: SystemTime,
    not_after: SystemTime,
    crl_distribution_point: Option<String>,
}

impl CertSpec {
    /// A certificate with this common name, valid from one hour ago for 30 days.
    pub fn new(common_name: &str, usage: CertUsage) -> Self {
        let now = SystemTime::now();
        Self {
            subject: vec![(DnType::CommonName, common_name.to_owned())],
            dns_names: Vec::new(),
            ips: Vec::new(),
            emails: Vec::new(),
            usage,
            key: KeyAlgorithm::default(),
            not_before: now - Duration::from_secs(3600),
            not_after: now + Duration::from_secs(30 * 86_400),
            crl_distribution_point: None,
        }
    }

    /// Names this URL as the certificate's CRL distribution point.
    #[must_use]
    pub fn crl_distribution_point(mut self, url: &str) -> Self {
        self.crl_distribution_point = Some(url.to_owned());
        self
    }

    /// Adds a subject attribute: `C`, `O`, `OU`, `serialNumber`,
    /// `organizationIdentifier`, `emailAddress`, `L`, `ST`, `GN`, `SN` (the
    /// surname), or a dotted OID.
    #[must_use]
    pub fn subject_attribute(mut self, name: &str, value: &str) -> Self {
        let ty = match name {
            "C" => DnType::CountryName,
            "O" => DnType::OrganizationName,
            "OU" => DnType::OrganizationalUnitName,
            "L" => DnType::LocalityName,
            "ST" => DnType::StateOrProvinceName,
            "CN" => DnType::CommonName,
            "serialNumber" => DnType::CustomDnType(vec![2, 5, 4, 5]),
            "organizationIdentifier" => DnType::CustomDnType(vec![2, 5, 4, 97]),
            "emailAddress" => DnType::CustomDnType(vec![1, 2, 840, 113_549, 1, 9, 1]),
            "GN" => DnType::CustomDnType(vec![2, 5, 4, 42]),
            "SN" => DnType::CustomDnType(vec![2, 5, 4, 4]),
            other => {
                DnType::CustomDnType(other.split('.').filter_map(|p| p.parse().ok()).collect())
            }
        };
        self.subject
            .insert(self.subject.len() - 1, (ty, value.to_owned()));
        self
    }

    /// Adds a DNS name (or, if it parses as one, an IP address) to the SANs.
    #[must_use]
    pub fn san(mut self, name: &str) -> Self {
        match name.parse::<IpAddr>() {
            Ok(ip) => self.ips.push(ip),
            Err(_) => self.dns_names.push(name.to_owned()),
        }
        self
    }

    /// Adds an e-mail address (rfc822Name) to the SANs.
    #[must_use]
    pub fn email(mut self, email: &str) -> Self {
        self.emails.push(email.to_owned());
        self
    }

    /// Sets the key algorithm. Defaults to ECDSA P-256.
    #[must_use]
    pub fn key(mut self, key: KeyAlgorithm) -> Self {
        self.key = key;
        self
    }

    /// Sets the validity period.
    #[must_use]
    pub fn validity(mut self, not_before: SystemTime, not_after: SystemTime) -> Self {
        self.not_before = not_before;
        self.not_after = not_after;
        self
    }
}

fn random_serial() -> SerialNumber {
    let mut bytes = [0u8; 16];
    // Any uniqueness source will do for test certificates; use the OS RNG via aws-lc through rustls.
    let _ = rustls::crypto::aws_lc_rs::default_provider()
        .secure_random
        .fill(&mut bytes);
    bytes[0] &= 0x7F;
    bytes[0] |= 0x01;
    SerialNumber::from_slice(&bytes)
}

fn to_offset(t: SystemTime) -> time::OffsetDateTime {
    t.into()
}

/// A certificate authority of the test PKI.
pub struct TestCa {
    cert: Certificate,
    issuer: Issuer<'static, KeyPair>,
    /// Certificates between this CA and the root (this CA's cert first, root excluded).
    chain_to_root: Vec<Vec<u8>>,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("subject", &self.cert.subject())
            .finish_non_exhaustive()
    }
}

impl TestCa {
    /// A self-signed root CA (ECDSA P-256) with the given subject attributes,
    /// valid from a day ago for ten years.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when generation fails.
    pub fn new_root(common_name: &str, organization: &str) -> Result<Self> {
        Self::new_root_with_key(common_name, organization, KeyAlgorithm::EcdsaP256)
    }

    /// A self-signed root CA with the given key algorithm.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when generation fails.
    pub fn new_root_with_key(
        common_name: &str,
        organization: &str,
        key: KeyAlgorithm,
    ) -> Result<Self> {
        let params = ca_params(common_name, organization, None)?;
        let key = key.generate()?;
        let cert = params.self_signed(&key)?;
        Ok(Self {
            cert: Certificate::from_der(cert.der(), common_name)?,
            issuer: Issuer::new(params, key),
            chain_to_root: Vec::new(),
        })
    }

    /// An intermediate CA issued by this CA.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when generation fails.
    pub fn new_intermediate(&self, common_name: &str, organization: &str) -> Result<Self> {
        let params = ca_params(common_name, organization, Some(0))?;
        let key = KeyAlgorithm::EcdsaP256.generate()?;
        let cert = params.signed_by(&key, &self.issuer)?;
        let mut chain_to_root = vec![cert.der().to_vec()];
        chain_to_root.extend(self.chain_to_root.iter().cloned());
        Ok(Self {
            cert: Certificate::from_der(cert.der(), common_name)?,
            issuer: Issuer::new(params, key),
            chain_to_root,
        })
    }

    /// The CA's certificate.
    pub fn certificate(&self) -> &Certificate {
        &self.cert
    }

    /// A trust store holding just this CA.
    ///
    /// # Errors
    /// Never in practice; the store is not empty.
    pub fn trust_store(&self) -> Result<TrustStore> {
        Ok(TrustStore::from_certificates([self.cert.clone()])?)
    }

    /// Issues an end-entity certificate with a fresh key.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when generation fails.
    pub fn issue(&self, spec: &CertSpec) -> Result<TestIdentity> {
        let key = spec.key.generate()?;
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        for (ty, value) in &spec.subject {
            dn.push(ty.clone(), value.as_str());
        }
        params.distinguished_name = dn;
        params.serial_number = Some(random_serial());
        params.not_before = to_offset(spec.not_before);
        params.not_after = to_offset(spec.not_after);
        params.is_ca = IsCa::ExplicitNoCa;
        params.use_authority_key_identifier_extension = true;
        for name in &spec.dns_names {
            params.subject_alt_names.push(SanType::DnsName(
                name.clone()
                    .try_into()
                    .map_err(|e: rcgen::Error| TestkitError::Pki(e.to_string()))?,
            ));
        }
        for ip in &spec.ips {
            params.subject_alt_names.push(SanType::IpAddress(*ip));
        }
        for email in &spec.emails {
            params.subject_alt_names.push(SanType::Rfc822Name(
                email
                    .clone()
                    .try_into()
                    .map_err(|e: rcgen::Error| TestkitError::Pki(e.to_string()))?,
            ));
        }
        let (ku, eku): (&[KeyUsagePurpose], &[ExtendedKeyUsagePurpose]) = match spec.usage {
            CertUsage::Server => (
                &[
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ],
                &[ExtendedKeyUsagePurpose::ServerAuth],
            ),
            CertUsage::Client => (
                &[
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ],
                &[ExtendedKeyUsagePurpose::ClientAuth],
            ),
            CertUsage::ServerAndClient => (
                &[
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::KeyEncipherment,
                ],
                &[
                    ExtendedKeyUsagePurpose::ServerAuth,
                    ExtendedKeyUsagePurpose::ClientAuth,
                ],
            ),
            CertUsage::Signing => (
                &[
                    KeyUsagePurpose::DigitalSignature,
                    KeyUsagePurpose::ContentCommitment,
                ],
                &[ExtendedKeyUsagePurpose::ClientAuth],
            ),
            CertUsage::Encryption => (
                &[KeyUsagePurpose::KeyEncipherment],
                &[ExtendedKeyUsagePurpose::EmailProtection],
            ),
        };
        params.key_usages = ku.to_vec();
        params.extended_key_usages = eku.to_vec();
        if let Some(url) = &spec.crl_distribution_point {
            params.crl_distribution_points = vec![rcgen::CrlDistributionPoint {
                uris: vec![url.clone()],
            }];
        }
        let cert = params.signed_by(&key, &self.issuer)?;
        let mut chain = vec![cert.der().to_vec()];
        chain.extend(self.chain_to_root.iter().cloned());
        Ok(TestIdentity {
            chain,
            key_pkcs8: SecretBytes::new(key.serialize_der()),
        })
    }

    /// Signs a PKCS#10 request (PEM or DER) with this CA, keeping the
    /// request's subject and public key. For simulators of CAs.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when the request is invalid or its signature is wrong.
    pub fn sign_csr(&self, csr: &[u8], usage: CertUsage, validity: Duration) -> Result<Vec<u8>> {
        let csr_der = if csr.starts_with(b"-----") {
            use rustls::pki_types::pem::PemObject as _;
            rustls::pki_types::CertificateSigningRequestDer::from_pem_slice(csr)
                .map_err(|e| TestkitError::Pki(format!("CSR PEM: {e}")))?
        } else {
            rustls::pki_types::CertificateSigningRequestDer::from(csr.to_vec())
        };
        let mut req = rcgen::CertificateSigningRequestParams::from_der(&csr_der)?;
        let now = SystemTime::now();
        req.params.not_before = to_offset(now - Duration::from_secs(60));
        req.params.not_after = to_offset(now + validity);
        req.params.serial_number = Some(random_serial());
        req.params.is_ca = IsCa::ExplicitNoCa;
        req.params.use_authority_key_identifier_extension = true;
        req.params.extended_key_usages = match usage {
            CertUsage::Server => vec![ExtendedKeyUsagePurpose::ServerAuth],
            CertUsage::Client | CertUsage::Signing => vec![ExtendedKeyUsagePurpose::ClientAuth],
            CertUsage::Encryption => vec![ExtendedKeyUsagePurpose::EmailProtection],
            CertUsage::ServerAndClient => vec![
                ExtendedKeyUsagePurpose::ServerAuth,
                ExtendedKeyUsagePurpose::ClientAuth,
            ],
        };
        let cert = req.signed_by(&self.issuer)?;
        Ok(cert.der().to_vec())
    }

    /// A CRL (DER) signed by this CA listing these certificates (DER) as
    /// revoked (reason keyCompromise), valid from `this_update` to `next_update`.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when a certificate cannot be parsed or signing fails.
    pub fn crl(
        &self,
        revoked: &[&[u8]],
        this_update: SystemTime,
        next_update: SystemTime,
    ) -> Result<Vec<u8>> {
        use der::Decode as _;
        let mut revoked_certs = Vec::new();
        for der in revoked {
            let cert = x509_cert::Certificate::from_der(der)
                .map_err(|e| TestkitError::Pki(format!("revoked certificate: {e}")))?;
            revoked_certs.push(rcgen::RevokedCertParams {
                serial_number: SerialNumber::from_slice(
                    cert.tbs_certificate().serial_number().as_bytes(),
                ),
                revocation_time: to_offset(this_update),
                reason_code: Some(rcgen::RevocationReason::KeyCompromise),
                invalidity_date: None,
            });
        }
        let secs = this_update
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(1);
        let params = rcgen::CertificateRevocationListParams {
            this_update: to_offset(this_update),
            next_update: to_offset(next_update),
            crl_number: SerialNumber::from(secs),
            issuing_distribution_point: None,
            revoked_certs,
            key_identifier_method: rcgen::KeyIdMethod::Sha256,
        };
        Ok(params.signed_by(&self.issuer)?.der().to_vec())
    }

    /// The certificates between this CA and the root: this CA first, root excluded.
    pub fn chain_to_root(&self) -> &[Vec<u8>] {
        &self.chain_to_root
    }
}

fn ca_params(
    common_name: &str,
    organization: &str,
    path_len: Option<u8>,
) -> Result<CertificateParams> {
    let mut params = CertificateParams::default();
    let mut dn = DistinguishedName::new();
    dn.push(DnType::OrganizationName, organization);
    dn.push(DnType::CommonName, common_name);
    params.distinguished_name = dn;
    params.is_ca = IsCa::Ca(match path_len {
        Some(n) => BasicConstraints::Constrained(n),
        None => BasicConstraints::Unconstrained,
    });
    params.key_usages = vec![
        KeyUsagePurpose::KeyCertSign,
        KeyUsagePurpose::CrlSign,
        KeyUsagePurpose::DigitalSignature,
    ];
    params.serial_number = Some(random_serial());
    let now = SystemTime::now();
    params.not_before = to_offset(now - Duration::from_secs(86_400));
    params.not_after = to_offset(now + Duration::from_secs(10 * 365 * 86_400));
    params.use_authority_key_identifier_extension = true;
    Ok(params)
}

/// How a PKCS#12 export is encrypted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Pkcs12Encryption {
    /// PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC, HMAC-SHA256 MAC (OpenSSL 3's default).
    Modern,
    /// pbeWithSHAAnd3-KeyTripleDES-CBC with an HMAC-SHA1 MAC, as in PKCS#12
    /// files from before OpenSSL 3 (2015-era D-Trust files).
    Legacy,
}

/// A private key with its certificate chain (leaf first, up to but without the root).
#[derive(Clone)]
pub struct TestIdentity {
    chain: Vec<Vec<u8>>,
    key_pkcs8: SecretBytes,
}

impl std::fmt::Debug for TestIdentity {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestIdentity")
            .field("certificates", &self.chain.len())
            .field("key", &"[redacted]")
            .finish()
    }
}

impl TestIdentity {
    /// The leaf certificate in DER.
    pub fn leaf_der(&self) -> &[u8] {
        &self.chain[0]
    }

    /// The leaf certificate.
    ///
    /// # Errors
    /// Never for generated certificates.
    pub fn certificate(&self) -> Result<Certificate> {
        Ok(Certificate::from_der(&self.chain[0], "test identity")?)
    }

    /// The chain in DER, leaf first.
    pub fn chain_der(&self) -> &[Vec<u8>] {
        &self.chain
    }

    /// The private key as PKCS#8 DER.
    pub fn key_pkcs8_der(&self) -> &[u8] {
        self.key_pkcs8.expose_secret()
    }

    /// The chain as PEM, leaf first.
    pub fn chain_pem(&self) -> String {
        self.chain
            .iter()
            .map(|der| smartid_core::internal::pem_encode("CERTIFICATE", der))
            .collect()
    }

    /// The private key as PKCS#8 PEM.
    pub fn key_pem(&self) -> String {
        smartid_core::internal::pem_encode("PRIVATE KEY", self.key_pkcs8.expose_secret())
    }

    /// The identity as a smartid-core client identity.
    ///
    /// # Errors
    /// Never for generated identities.
    pub fn to_client_identity(&self) -> Result<ClientIdentity> {
        Ok(ClientIdentity::from_pem(
            self.chain_pem().as_bytes(),
            self.key_pem().as_bytes(),
            "test identity",
        )?)
    }

    /// Exports the identity as PKCS#12 protected by `password`.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when encoding fails.
    pub fn to_pkcs12(
        &self,
        password: &Secret,
        encryption: Pkcs12Encryption,
        alias: &str,
    ) -> Result<Vec<u8>> {
        crate::secrets::record(
            crate::secrets::SecretKind::Pkcs12Password,
            password.expose_secret(),
        );
        let pki = |e: p12_keystore::error::Error| TestkitError::Pki(format!("PKCS#12: {e}"));
        let certs = self
            .chain
            .iter()
            .map(|der| P12Certificate::from_der(der).map_err(pki))
            .collect::<Result<Vec<_>>>()?;
        let key = P12PrivateKey::from_der(self.key_pkcs8.expose_secret()).map_err(pki)?;
        let mut local_key_id = [0u8; 20];
        let _ = rustls::crypto::aws_lc_rs::default_provider()
            .secure_random
            .fill(&mut local_key_id);
        let chain = PrivateKeyChain::new(local_key_id.to_vec(), key, certs);
        let mut store = KeyStore::new();
        store.add_entry(alias, KeyStoreEntry::PrivateKeyChain(chain));
        let writer = store.writer(password.expose_secret());
        let writer = match encryption {
            Pkcs12Encryption::Modern => writer
                .encryption_algorithm(EncryptionAlgorithm::PbeWithHmacSha256AndAes256)
                .mac_algorithm(MacAlgorithm::HmacSha256),
            Pkcs12Encryption::Legacy => writer
                .encryption_algorithm(EncryptionAlgorithm::PbeWithShaAnd3KeyTripleDesCbc)
                .mac_algorithm(MacAlgorithm::HmacSha1)
                .encryption_iterations(2048)
                .mac_iterations(2048),
        };
        writer.write().map_err(pki)
    }
}

/// A ready test PKI: a root, an intermediate under it, and helpers that
/// issue server certificates for localhost and client certificates.
#[derive(Debug)]
pub struct TestPki {
    root: TestCa,
    intermediate: TestCa,
}

impl TestPki {
    /// Generates a root "smartid Test Root CA" and an intermediate
    /// "smartid Test Issuing CA".
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when generation fails.
    pub fn generate() -> Result<Self> {
        let root = TestCa::new_root("smartid Test Root CA", "smartid testkit")?;
        let intermediate = root.new_intermediate("smartid Test Issuing CA", "smartid testkit")?;
        Ok(Self { root, intermediate })
    }

    /// The root CA.
    pub fn root(&self) -> &TestCa {
        &self.root
    }

    /// The intermediate (issuing) CA.
    pub fn intermediate(&self) -> &TestCa {
        &self.intermediate
    }

    /// A server identity for `localhost`, `127.0.0.1` and `::1`, issued by the intermediate.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when generation fails.
    pub fn localhost_server(&self) -> Result<TestIdentity> {
        self.intermediate.issue(
            &CertSpec::new("localhost", CertUsage::Server)
                .san("localhost")
                .san("127.0.0.1")
                .san("::1"),
        )
    }

    /// A client identity with this common name, issued by the intermediate.
    ///
    /// # Errors
    /// [`TestkitError::Pki`] when generation fails.
    pub fn client(&self, common_name: &str) -> Result<TestIdentity> {
        self.intermediate.issue(
            &CertSpec::new(common_name, CertUsage::Client)
                .subject_attribute("O", "smartid testkit"),
        )
    }

    /// The root as a trust store.
    ///
    /// # Errors
    /// Never in practice.
    pub fn root_trust_store(&self) -> Result<TrustStore> {
        self.root.trust_store()
    }

    /// The root certificate as PEM.
    pub fn root_pem(&self) -> String {
        self.root.certificate().to_pem()
    }

    /// The root certificate as DER.
    pub fn root_der(&self) -> Vec<u8> {
        self.root.certificate().der().to_vec()
    }
}
