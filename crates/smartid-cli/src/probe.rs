//! The network steps of `smartid check`, one by one: name resolution, TCP
//! (directly or through an HTTP CONNECT proxy) and the TLS handshake with
//! the configured trust, recording which certificate the server presented
//! so that a failure names it.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, SignatureScheme};
use smartid_core::Certificate;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::TcpStream;

/// Resolves `host:port`.
pub(crate) async fn resolve(host: &str, port: u16) -> Result<Vec<SocketAddr>, String> {
    match tokio::net::lookup_host((host, port)).await {
        Ok(addrs) => {
            let addrs: Vec<_> = addrs.collect();
            if addrs.is_empty() {
                Err(format!("{host} has no address"))
            } else {
                Ok(addrs)
            }
        }
        Err(e) => Err(format!(
            "{host} does not resolve ({e}); check the host name and the DNS settings"
        )),
    }
}

/// Opens TCP to `host:port`.
pub(crate) async fn connect(host: &str, port: u16, timeout: Duration) -> Result<TcpStream, String> {
    match tokio::time::timeout(timeout, TcpStream::connect((host, port))).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(format!(
            "no TCP connection to {host}:{port} ({e}); check host, port and firewalls"
        )),
        Err(_) => Err(format!(
            "no TCP connection to {host}:{port} within {}s; check host, port and firewalls",
            timeout.as_secs()
        )),
    }
}

/// Asks the proxy on `stream` for a tunnel to `host:port`.
pub(crate) async fn proxy_connect(
    stream: &mut TcpStream,
    host: &str,
    port: u16,
    timeout: Duration,
) -> Result<(), String> {
    let request = format!("CONNECT {host}:{port} HTTP/1.1\r\nHost: {host}:{port}\r\n\r\n");
    let exchange = async {
        stream
            .write_all(request.as_bytes())
            .await
            .map_err(|e| e.to_string())?;
        let mut answer = Vec::new();
        let mut byte = [0u8; 1];
        while !answer.ends_with(b"\r\n\r\n") && answer.len() < 8192 {
            let n = stream.read(&mut byte).await.map_err(|e| e.to_string())?;
            if n == 0 {
                return Err("the proxy closed the connection".to_owned());
            }
            answer.push(byte[0]);
        }
        Ok(String::from_utf8_lossy(&answer).into_owned())
    };
    let answer = match tokio::time::timeout(timeout, exchange).await {
        Ok(Ok(a)) => a,
        Ok(Err(e)) => return Err(format!("the proxy did not answer CONNECT ({e})")),
        Err(_) => return Err("the proxy did not answer CONNECT in time".into()),
    };
    let status = answer.lines().next().unwrap_or_default().to_owned();
    if status.split_whitespace().nth(1) == Some("200") {
        Ok(())
    } else {
        Err(format!(
            "the proxy refused the tunnel to {host}:{port} ({status}); check proxyHost/proxyPort \
             and that the proxy allows this destination"
        ))
    }
}

/// What the server presented and what the verifier thought of it.
#[derive(Debug, Default)]
struct Seen {
    leaf: Option<Vec<u8>>,
    error: Option<rustls::Error>,
}

#[derive(Debug)]
struct Recording {
    inner: Arc<WebPkiServerVerifier>,
    seen: Arc<Mutex<Seen>>,
}

impl ServerCertVerifier for Recording {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        let result = self.inner.verify_server_cert(
            end_entity,
            intermediates,
            server_name,
            ocsp_response,
            now,
        );
        if let Ok(mut seen) = self.seen.lock() {
            seen.leaf = Some(end_entity.to_vec());
            seen.error = result.as_ref().err().cloned();
        }
        result
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }
}

fn reason(e: &rustls::Error, cert: &Certificate, host: &str) -> String {
    match e {
        rustls::Error::InvalidCertificate(c) => match c {
            CertificateError::UnknownIssuer | CertificateError::BadSignature => format!(
                "it is not issued by a certificate in the configured trust (its issuer is \
                 \"{}\"); add that CA to the trust store",
                cert.issuer()
            ),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. } => {
                format!("it is not issued for the host name {host}; use the host name it names")
            }
            CertificateError::Expired | CertificateError::ExpiredContext { .. } => format!(
                "it expired at {}; the server must renew it",
                cert.not_after_rfc3339()
            ),
            CertificateError::NotValidYet | CertificateError::NotValidYetContext { .. } => format!(
                "it is valid only from {}; check the clock",
                cert.not_before_rfc3339()
            ),
            CertificateError::Revoked => "it is revoked".into(),
            other => format!("it is invalid ({other:?})"),
        },
        other => format!("{other}"),
    }
}

/// Runs a TLS handshake on `stream` trusting only `roots`; Ok names the
/// server certificate, Err names it and says why it was refused.
pub(crate) async fn tls(
    stream: TcpStream,
    host: &str,
    roots: &[Certificate],
    timeout: Duration,
) -> Result<String, String> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut store = rustls::RootCertStore::empty();
    for cert in roots {
        if let Err(e) = store.add(CertificateDer::from(cert.der().to_vec())) {
            return Err(format!(
                "the trusted certificate \"{}\" cannot be used as a root ({e})",
                cert.subject()
            ));
        }
    }
    let inner = WebPkiServerVerifier::builder_with_provider(Arc::new(store), provider.clone())
        .build()
        .map_err(|e| format!("the configured trust cannot be used ({e})"))?;
    let seen = Arc::new(Mutex::new(Seen::default()));
    let verifier = Arc::new(Recording {
        inner,
        seen: seen.clone(),
    });
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(verifier)
        .with_no_client_auth();
    let name = ServerName::try_from(host.to_owned())
        .map_err(|_| format!("{host} is not a valid TLS server name"))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let result = tokio::time::timeout(timeout, connector.connect(name, stream)).await;
    let (leaf, error) = match seen.lock() {
        Ok(seen) => (seen.leaf.clone(), seen.error.clone()),
        Err(_) => (None, None),
    };
    let cert = leaf.and_then(|der| Certificate::from_der(&der, "the server's certificate").ok());
    match (cert, error) {
        // The server certificate was verified: a later failure (a server
        // wanting a client certificate) is the next check's business.
        (Some(cert), None) => Ok(format!(
            "server certificate \"{}\" (issuer \"{}\", until {}) is trusted",
            cert.subject(),
            cert.issuer(),
            cert.not_after_rfc3339()
        )),
        (Some(cert), Some(e)) => Err(format!(
            "server certificate \"{}\" refused: {}",
            cert.subject(),
            reason(&e, &cert, host)
        )),
        (None, _) => Err(match result {
            Err(_) => format!("no TLS answer within {}s", timeout.as_secs()),
            Ok(Err(e)) => format!("the TLS handshake failed before a certificate came ({e})"),
            Ok(Ok(_)) => "the server presented no certificate".into(),
        }),
    }
}
