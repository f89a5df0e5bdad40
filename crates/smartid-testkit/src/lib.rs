#![doc = include_str!("../README.md")]
//!
//! Everything here listens on `127.0.0.1` only, and the proxy only tunnels
//! to loopback addresses.
#![deny(missing_docs)]
#![forbid(unsafe_code)]

pub mod audkenni;
pub mod bench;
mod clock;
pub mod dtrust;
mod error;
mod faults;
mod flaky_store;
pub mod fuzz_corpus;
pub mod hermod;
pub mod log_capture;
mod pki;
mod proxy;
mod scripted;
pub mod secrets;
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
