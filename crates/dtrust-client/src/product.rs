//! Certificate products and request kinds.

use std::fmt;

/// How the key of a certificate is made.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum RequestKind {
    /// The client makes the key and sends a PKCS#10 request (CSR).
    Pkcs10,
    /// D-Trust makes the key and returns a PKCS#12 with a transport password.
    Pkcs12,
    /// A kind this client does not know, as sent by the server.
    Unknown(String),
}

impl RequestKind {
    /// Parses the wire name (`PKCS10`, `PKCS12`; case and `#`/`-` insensitive).
    pub fn from_wire(name: &str) -> Self {
        let norm: String = name
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .collect::<String>()
            .to_ascii_uppercase();
        match norm.as_str() {
            "PKCS10" => Self::Pkcs10,
            "PKCS12" => Self::Pkcs12,
            _ => Self::Unknown(name.to_owned()),
        }
    }

    /// The wire name.
    pub fn as_wire(&self) -> &str {
        match self {
            Self::Pkcs10 => "PKCS10",
            Self::Pkcs12 => "PKCS12",
            Self::Unknown(s) => s,
        }
    }
}

impl fmt::Display for RequestKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_wire())
    }
}

impl serde::Serialize for RequestKind {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.as_wire())
    }
}

impl<'de> serde::Deserialize<'de> for RequestKind {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <String as serde::Deserialize>::deserialize(d)?;
        Ok(Self::from_wire(&s))
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
