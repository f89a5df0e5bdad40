//! Audkenni's `acr_values`: which method authenticates or signs.

use std::fmt;

use serde::{Deserialize, Serialize};

/// An `acr_values` value. Audkenni's documented values have their own
/// variants; anything else passes through [`Acr::Other`].
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum Acr {
    /// `sim-auth`: SIM authentication.
    SimAuth,
    /// `sim-sign`: SIM signing, returns a CMS (PKCS#7) signature.
    SimSign,
    /// `sim-sign-pkcs1`: SIM signing, returns a raw PKCS#1 signature and the certificate.
    SimSignPkcs1,
    /// `sim-auth-xml`: SIM authentication with an XML result.
    SimAuthXml,
    /// `app-auth`: app authentication (show [`crate::verification_code`] to the user).
    AppAuth,
    /// `app-certificate-choice`: the user picks the certificate to sign with.
    AppCertificateChoice,
    /// `app-sign`: app signing.
    AppSign,
    /// `app-sign-with-certificate`: app signing with the chosen certificate.
    AppSignWithCertificate,
    /// `nexus`: card authentication.
    Nexus,
    /// `nexus-sign`: card signing; needs a `nexus_url`.
    NexusSign,
    /// `newcards-auth`: new (Smart ID) card authentication.
    NewcardsAuth,
    /// `oldcards-auth`: old (Nexus) card authentication.
    OldcardsAuth,
    /// `default`.
    Default,
    /// `apidefault`.
    ApiDefault,
    /// `sim`.
    Sim,
    /// Any other value, sent as given.
    Other(String),
}

impl Acr {
    /// The wire value.
    pub fn as_str(&self) -> &str {
        match self {
            Self::SimAuth => "sim-auth",
            Self::SimSign => "sim-sign",
            Self::SimSignPkcs1 => "sim-sign-pkcs1",
            Self::SimAuthXml => "sim-auth-xml",
            Self::AppAuth => "app-auth",
            Self::AppCertificateChoice => "app-certificate-choice",
            Self::AppSign => "app-sign",
            Self::AppSignWithCertificate => "app-sign-with-certificate",
            Self::Nexus => "nexus",
            Self::NexusSign => "nexus-sign",
            Self::NewcardsAuth => "newcards-auth",
            Self::OldcardsAuth => "oldcards-auth",
            Self::Default => "default",
            Self::ApiDefault => "apidefault",
            Self::Sim => "sim",
            Self::Other(s) => s,
        }
    }

    /// Parses a wire value; the outdated underscore spellings (`sim_sign`,
    /// `nexus_sign`...) map to the hyphenated values.
    pub fn parse(value: &str) -> Self {
        match value.trim().replace('_', "-").as_str() {
            "sim-auth" => Self::SimAuth,
            "sim-sign" => Self::SimSign,
            "sim-sign-pkcs1" => Self::SimSignPkcs1,
            "sim-auth-xml" => Self::SimAuthXml,
            "app-auth" => Self::AppAuth,
            "app-certificate-choice" => Self::AppCertificateChoice,
            "app-sign" => Self::AppSign,
            "app-sign-with-certificate" => Self::AppSignWithCertificate,
            "nexus" => Self::Nexus,
            "nexus-sign" => Self::NexusSign,
            "newcards-auth" => Self::NewcardsAuth,
            "oldcards-auth" => Self::OldcardsAuth,
            "default" => Self::Default,
            "apidefault" => Self::ApiDefault,
            "sim" => Self::Sim,
            _ => Self::Other(value.to_owned()),
        }
    }

    /// Whether the user answers in the Audkenni app (the binding message is
    /// then limited to 60 characters without newlines).
    pub fn is_app(&self) -> bool {
        matches!(
            self,
            Self::AppAuth
                | Self::AppCertificateChoice
                | Self::AppSign
                | Self::AppSignWithCertificate
        )
    }

    /// Whether the user answers on the SIM (`sim-*`, `sim`): the login hint
    /// is then the mobile number.
    pub fn is_sim(&self) -> bool {
        matches!(
            self,
            Self::SimAuth | Self::SimSign | Self::SimSignPkcs1 | Self::SimAuthXml | Self::Sim
        )
    }

    /// Whether the result carries a CMS SignedData in the `signature` claim.
    pub fn returns_cms(&self) -> bool {
        matches!(
            self,
            Self::SimSign | Self::AppSign | Self::AppSignWithCertificate | Self::NexusSign
        )
    }

    /// Whether the result carries a raw PKCS#1 signature in the `signature` claim.
    pub fn returns_pkcs1(&self) -> bool {
        matches!(self, Self::SimSignPkcs1)
    }
}

impl fmt::Display for Acr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl From<String> for Acr {
    fn from(s: String) -> Self {
        Self::parse(&s)
    }
}

impl From<&str> for Acr {
    fn from(s: &str) -> Self {
        Self::parse(s)
    }
}

impl From<Acr> for String {
    fn from(a: Acr) -> Self {
        a.as_str().to_owned()
    }
}

impl std::str::FromStr for Acr {
    type Err = std::convert::Infallible;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Ok(Self::parse(s))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_documented_value() {
        for v in [
            "sim-auth",
            "sim-sign",
            "sim-sign-pkcs1",
            "sim-auth-xml",
            "app-auth",
            "app-certificate-choice",
            "app-sign",
            "app-sign-with-certificate",
            "nexus",
            "nexus-sign",
            "newcards-auth",
            "oldcards-auth",
            "default",
            "apidefault",
            "sim",
        ] {
            let acr = Acr::parse(v);
            assert!(!matches!(acr, Acr::Other(_)), "{v}");
            assert_eq!(acr.as_str(), v);
        }
        assert_eq!(Acr::parse("sim_sign"), Acr::SimSign);
        assert_eq!(Acr::parse("nexus_sign"), Acr::NexusSign);
        assert_eq!(Acr::parse("custom-x"), Acr::Other("custom-x".into()));
        assert_eq!(Acr::parse("custom-x").as_str(), "custom-x");
        assert_eq!(
            serde_json::to_string(&Acr::AppAuth).unwrap(),
            "\"app-auth\""
        );
    }

    #[test]
    fn classification() {
        assert!(Acr::AppAuth.is_app() && !Acr::SimSign.is_app());
        assert!(Acr::SimSign.returns_cms() && !Acr::SimSignPkcs1.returns_cms());
        assert!(Acr::SimSignPkcs1.returns_pkcs1());
    }
}
