//! Certificate products and request kinds.

smartid_core::vocabulary! {
    /// How the key of a certificate is made (the wire's `requestType`).
    pub enum RequestKind {
        /// The client makes the key and sends a PKCS#10 request (CSR).
        Pkcs10 = "PKCS10",
        /// D-Trust makes the key and returns a PKCS#12 with a transport password.
        Pkcs12 = "PKCS12",
    }
}

impl RequestKind {
    /// Parses the wire name leniently: `PKCS10`, `PKCS12`, in any case and
    /// with `#` or `-` (`pkcs#12`, `PKCS-10`); anything else is kept as
    /// [`RequestKind::Other`].
    pub fn from_wire(name: &str) -> Self {
        let norm: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase();
        match Self::parse(&norm) {
            Self::Other(_) => Self::Other(name.to_owned()),
            known => known,
        }
    }

    /// The wire name (the same as [`RequestKind::as_str`]).
    pub fn as_wire(&self) -> &str {
        self.as_str()
    }
}

/// A certificate product ("certificate type") the account may order.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Product {
    /// The product identifier to order with.
    pub id: String,
    /// The display name, e.g. "Advanced SSL ID (RSA)".
    pub name: String,
    /// The request kinds the product accepts.
    pub request_kinds: Vec<RequestKind>,
    /// The allowed key sizes in bits, where the server says so (empty when
    /// it does not). For elliptic curves: 256 = P-256, 384 = P-384.
    pub key_sizes: Vec<u32>,
}

impl Product {
    /// A product (for tests and for callers that know their products).
    pub fn new(id: impl Into<String>, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            name: name.into(),
            request_kinds: Vec::new(),
            key_sizes: Vec::new(),
        }
    }

    /// Whether the product accepts this request kind.
    pub fn accepts(&self, kind: &RequestKind) -> bool {
        self.request_kinds.contains(kind)
    }
}
