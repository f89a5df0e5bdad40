//! Test support for smartid integrations: a test PKI generated at run time,
//! an HTTPS front that can require client certificates, and a local
//! `CONNECT` proxy. Simulators of Audkenni, D-Trust and Hermod build on these.
//!
//! ```
//! use smartid_testkit::{Pkcs12Encryption, TestPki};
//! use smartid_core::{ClientIdentity, Secret};
//!
//! let pki = TestPki::generate()?;
//! let client = pki.client("Test Client")?;
//! let p12 = client.to_pkcs12(&Secret::new("123456"), Pkcs12Encryption::Legacy, "client")?;
//! let id = ClientIdentity::from_pkcs12_der(&p12, "client.p12", &Secret::new("123456"))?;
//! assert!(id.certificate().subject().contains("Test Client"));
//! # Ok::<(), smartid_testkit::TestkitError>(())
//! ```
//!
//! Everything here listens on `127.0.0.1` only, and the proxy only tunnels
//! to loopback addresses.
#![deny(missing_docs)]

pub mod audkenni;
mod clock;
pub mod dtrust;
mod error;
mod faults;
mod flaky_store;
pub mod hermod;
mod pki;
mod proxy;
mod scripted;
pub mod sim;
#[doc(hidden)]
pub mod store_contract;
mod tls;

pub use clock::ManualClock;
pub use error::{Result, TestkitError};
pub use faults::{FaultKind, FaultSettings, Faults};
pub use flaky_store::FlakyStore;
pub use pki::{CertSpec, CertUsage, KeyAlgorithm, Pkcs12Encryption, TestCa, TestIdentity, TestPki};
pub use proxy::ConnectProxy;
pub use scripted::ScriptedSender;
pub use tls::{ClientAuth, TlsFront, server_config};
