//! The bounded, namespace-resolving XML reader shared with the simulator
//! (it lives in smartid-core).

pub(crate) use smartid_core::internal::xml::{XmlElement as Element, escape as esc, parse};
