//! An HTTPS front for test servers: terminates TLS (optionally requiring a
//! client certificate) and forwards the plain bytes to a local backend such
//! as a wiremock server or a simulator's HTTP listener.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use rustls::RootCertStore;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::server::WebPkiClientVerifier;
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio_rustls::TlsAcceptor;

use crate::error::{Result, TestkitError};
use crate::faults::Resets;
use crate::pki::TestIdentity;

/// Whether the test server asks for a client certificate.
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub enum ClientAuth {
    /// No client certificate is requested.
    #[default]
    None,
    /// A client certificate chaining to one of these CA certificates (DER) is required.
    Required(Vec<Vec<u8>>),
}

/// Builds a rustls server configuration (TLS 1.2 and 1.3, aws-lc-rs) for a
/// test identity, for simulators that run their own HTTPS listener.
///
/// This exposes rustls' type on purpose: the testkit is a test-support crate.
///
/// # Errors
/// [`TestkitError::Tls`] when rustls refuses the identity or the CA certificates.
pub fn server_config(
    identity: &TestIdentity,
    client_auth: &ClientAuth,
) -> Result<Arc<rustls::ServerConfig>> {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let tls = |e: &dyn std::fmt::Display| TestkitError::Tls(e.to_string());
    let builder = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
        .map_err(|e| tls(&e))?;
    let builder = match client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Required(cas) => {
            let mut roots = RootCertStore::empty();
            for ca in cas {
                roots
                    .add(CertificateDer::from(ca.clone()))
                    .map_err(|e| tls(&e))?;
            }
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider)
                .build()
                .map_err(|e| tls(&e))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    let chain = identity
        .chain_der()
        .iter()
        .map(|der| CertificateDer::from(der.clone()))
        .collect();
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(identity.key_pkcs8_der().to_vec()));
    let mut config = builder.with_single_cert(chain, key).map_err(|e| tls(&e))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A TLS-terminating front on `127.0.0.1` that forwards each connection to a
/// plain-TCP backend. Stops when dropped.
#[derive(Debug)]
pub struct TlsFront {
    addr: SocketAddr,
    task: JoinHandle<()>,
    handshakes_ok: Arc<AtomicUsize>,
    handshakes_failed: Arc<AtomicUsize>,
}

impl TlsFront {
    /// Starts a front for `backend` with the server identity and client-auth policy.
    ///
    /// # Errors
    /// [`TestkitError::Io`] when no port can be bound, [`TestkitError::Tls`]
    /// for a bad identity.
    pub async fn start(
        backend: SocketAddr,
        identity: &TestIdentity,
        client_auth: ClientAuth,
    ) -> Result<Self> {
        Self::start_at(0, backend, identity, client_auth, None).await
    }

    /// As [`TlsFront::start`], on `127.0.0.1:port` (0: a free port), with
    /// connections that the fault middleware may reset.
    pub(crate) async fn start_at(
        port: u16,
        backend: SocketAddr,
        identity: &TestIdentity,
        client_auth: ClientAuth,
        resets: Option<Resets>,
    ) -> Result<Self> {
        let acceptor = TlsAcceptor::from(server_config(identity, &client_auth)?);
        let listener = TcpListener::bind(("127.0.0.1", port)).await?;
        let addr = listener.local_addr()?;
        let handshakes_ok = Arc::new(AtomicUsize::new(0));
        let handshakes_failed = Arc::new(AtomicUsize::new(0));
        let (ok, failed) = (handshakes_ok.clone(), handshakes_failed.clone());
        let task = tokio::spawn(async move {
            loop {
                let Ok((tcp, _)) = listener.accept().await else {
                    continue;
                };
                let acceptor = acceptor.clone();
                let (ok, failed) = (ok.clone(), failed.clone());
                let resets = resets.clone();
                tokio::spawn(async move {
                    let mut tls = match acceptor.accept(tcp).await {
                        Ok(tls) => tls,
                        Err(_) => {
                            failed.fetch_add(1, Ordering::SeqCst);
                            return;
                        }
                    };
                    ok.fetch_add(1, Ordering::SeqCst);
                    let Ok(mut upstream) = TcpStream::connect(backend).await else {
                        return;
                    };
                    let Some(resets) = resets else {
                        let _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream).await;
                        return;
                    };
                    let Ok(side) = upstream.local_addr() else {
                        return;
                    };
                    let reset = resets.register(side);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut tls, &mut upstream) => {}
                        Ok(()) = reset => {
                            // A TCP RST instead of a TLS close_notify.
                            let _ = tls.get_ref().0.set_zero_linger();
                        }
                    }
                    resets.forget(&side);
                });
            }
        });
        Ok(Self {
            addr,
            task,
            handshakes_ok,
            handshakes_failed,
        })
    }

    /// The listening address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `https://localhost:PORT` (the name the test server certificates carry).
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.addr.port())
    }

    /// Completed TLS handshakes so far.
    pub fn handshakes_ok(&self) -> usize {
        self.handshakes_ok.load(Ordering::SeqCst)
    }

    /// Failed TLS handshakes so far (for example a client without a certificate).
    pub fn handshakes_failed(&self) -> usize {
        self.handshakes_failed.load(Ordering::SeqCst)
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        self.task.abort();
    }
}
