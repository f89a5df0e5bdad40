//! The simulator reads SOAP requests with the bounded, namespace-resolving
//! XML reader of smartid-core.

pub(crate) use smartid_core::internal::xml::{XmlElement as Element, escape as esc, parse};
