//! Audkenni's own error codes, which its CIBA endpoints put in
//! `error_description` (`{"error":"access_denied","error_description":"mssp_105"}`).

smartid_core::vocabulary! {
    /// An Audkenni error code, read from an error document's
    /// `error_description` (documented on Audkenni's "Error Codes" page).
    ///
    /// Each code has its [meaning](ProviderCode::meaning) and
    /// [what to do](ProviderCode::remedy). Codes this crate does not know are
    /// kept in [`ProviderCode::Other`]; parsing ignores case.
    ///
    /// ```
    /// use audkenni_ciba::ProviderCode;
    /// assert_eq!(ProviderCode::find_in("mssp_105"), Some(ProviderCode::Mssp105));
    /// assert_eq!(ProviderCode::find_in("MSSP_401: User cancelled"), Some(ProviderCode::Mssp401));
    /// assert_eq!(ProviderCode::find_in("The user has not yet answered"), None);
    /// assert_eq!(ProviderCode::from("invalidclientid"), ProviderCode::InvalidClientId);
    /// ```
    pub enum ProviderCode {
        /// `mssp_100`: accepted (a status, not a failure).
        Mssp100 = "mssp_100",
        /// `mssp_101`: a parameter is wrong.
        Mssp101 = "mssp_101",
        /// `mssp_102`: a parameter is missing.
        Mssp102 = "mssp_102",
        /// `mssp_103`: the data has the wrong length.
        Mssp103 = "mssp_103",
        /// `mssp_104`: the relying party (AP) is unknown.
        Mssp104 = "mssp_104",
        /// `mssp_105`: no valid ID for that phone number (user not found).
        Mssp105 = "mssp_105",
        /// `mssp_107`: the data could not be handled.
        Mssp107 = "mssp_107",
        /// `mssp_108`: incompatible interface version.
        Mssp108 = "mssp_108",
        /// `mssp_109`: unsupported profile.
        Mssp109 = "mssp_109",
        /// `mssp_208`: timeout, the phone gave no answer.
        Mssp208 = "mssp_208",
        /// `mssp_209`: read two ways in public sources: "timeout, the phone is
        /// unreachable" (Audkenni's table) and "a request is already in
        /// progress for this user" (one public client). Nothing in this crate
        /// depends on either reading.
        Mssp209 = "mssp_209",
        /// `mssp_401`: the user cancelled.
        Mssp401 = "mssp_401",
        /// `mssp_402`: the PIN is blocked.
        Mssp402 = "mssp_402",
        /// `mssp_403`: the card (SIM) is blocked.
        Mssp403 = "mssp_403",
        /// `mssp_404`: no key found.
        Mssp404 = "mssp_404",
        /// `akreg_401`: the user is not allowed to create a certificate.
        Akreg401 = "akreg_401",
        /// `audkenni_400`: the user has no mobile number.
        Audkenni400 = "audkenni_400",
        /// `audkenni_403`: the relying party is unknown.
        Audkenni403 = "audkenni_403",
        /// `audkenni_404`: the user was not found.
        Audkenni404 = "audkenni_404",
        /// `InvalidClientId`: the relying party is unknown.
        InvalidClientId = "InvalidClientId",
    }
}

/// Prefixes of Audkenni code families: an unknown number in a known family
/// is still a code ([`ProviderCode::Other`]).
const FAMILIES: &[&str] = &["mssp_", "akreg_", "audkenni_"];

impl ProviderCode {
    /// Finds the code in an `error_description`: the description itself
    /// (as Audkenni documents it, `"mssp_105"`), or a code with text
    /// around it (`"mssp_105: No valid ID"`). A description that is one
    /// word but no known code gives [`ProviderCode::Other`]; free text
    /// without a code gives `None`.
    pub fn find_in(description: &str) -> Option<Self> {
        let words = description
            .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .filter(|w| !w.is_empty());
        for word in words {
            let lower = word.to_ascii_lowercase();
            if let Some(c) = Self::KNOWN
                .iter()
                .find(|c| c.as_str().eq_ignore_ascii_case(&lower))
            {
                return Some(c.clone());
            }
            if FAMILIES.iter().any(|f| {
                lower
                    .strip_prefix(f)
                    .is_some_and(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
            }) {
                return Some(Self::Other(word.to_owned()));
            }
        }
        let bare = description.trim();
        (!bare.is_empty() && !bare.contains(char::is_whitespace))
            .then(|| Self::Other(bare.to_owned()))
    }

    /// What happened, in words (Audkenni's table).
    pub fn meaning(&self) -> &'static str {
        match self {
            Self::Mssp100 => "the request was accepted",
            Self::Mssp101 => "a request parameter is wrong",
            Self::Mssp102 => "a request parameter is missing",
            Self::Mssp103 => "the data to sign has the wrong length",
            Self::Mssp104 => "Audkenni does not know this relying party",
            Self::Mssp105 => "no valid ID for that phone number",
            Self::Mssp107 => "Audkenni could not handle the data",
            Self::Mssp108 => "incompatible interface version",
            Self::Mssp109 => "unsupported profile",
            Self::Mssp208 => "timeout: no answer from the phone",
            Self::Mssp209 => {
                "mssp_209: timeout, the phone is unreachable (Audkenni's table; one public client reads it as \"a request is already in progress for this user\")"
            }
            Self::Mssp401 => "the user cancelled",
            Self::Mssp402 => "the user's PIN is blocked",
            Self::Mssp403 => "the user's SIM card is blocked",
            Self::Mssp404 => "no signing key was found for the user",
            Self::Akreg401 => "the user is not allowed to create a certificate",
            Self::Audkenni400 => "the user has no mobile number",
            Self::Audkenni403 | Self::InvalidClientId => {
                "Audkenni does not know this relying party"
            }
            Self::Audkenni404 => "the user was not found",
            Self::Other(_) => "Audkenni reported a code this crate does not know",
        }
    }

    /// What to do about it.
    pub fn remedy(&self) -> &'static str {
        match self {
            Self::Mssp100 => "nothing; this is a status, not a failure",
            Self::Mssp101 | Self::Mssp102 => {
                "check the login hint, acr_values, binding message and binding content"
            }
            Self::Mssp103 => "check binding_content (the base64 of a SHA-256 or SHA-512 hash)",
            Self::Mssp104 | Self::Audkenni403 | Self::InvalidClientId => {
                "check the client id and that Audkenni registered this relying party for this environment"
            }
            Self::Mssp105 => {
                "check the phone number; the user may have no active electronic ID on this SIM"
            }
            Self::Mssp107 | Self::Mssp108 | Self::Mssp109 => {
                "check the request against Audkenni's documentation, or contact Audkenni"
            }
            Self::Mssp208 => "ask the user to try again and to answer on the phone in time",
            Self::Mssp209 => {
                "ask the user to check that the phone is on and reachable, and that no other request is waiting, then try again"
            }
            Self::Mssp401 => "nothing to fix; start a new request if the user wants to try again",
            Self::Mssp402 => "the user must unblock the PIN (with the PUK) before signing",
            Self::Mssp403 => "the user must contact the mobile operator or Audkenni",
            Self::Mssp404 | Self::Akreg401 => {
                "the user must contact Audkenni about the certificate"
            }
            Self::Audkenni400 => {
                "the user must register a mobile number, or use another method (app or card)"
            }
            Self::Audkenni404 => "check the login hint (kennitala or phone number)",
            Self::Other(_) => "see the error description and Audkenni's error code list",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_documented_code_reads_bare_and_in_text() {
        for code in ProviderCode::KNOWN {
            let s = code.as_str();
            assert_eq!(ProviderCode::parse(s), *code);
            assert_eq!(ProviderCode::find_in(s).as_ref(), Some(code), "{s}");
            assert_eq!(
                ProviderCode::find_in(&format!("Error: {s} (details)")).as_ref(),
                Some(code),
                "{s}"
            );
            assert_eq!(
                ProviderCode::find_in(&s.to_ascii_uppercase()).as_ref(),
                Some(code)
            );
            assert!(!code.meaning().is_empty() && !code.remedy().is_empty());
        }
        assert_eq!(ProviderCode::KNOWN.len(), 20);
    }

    #[test]
    fn unknown_codes_are_other_and_free_text_is_none() {
        assert_eq!(
            ProviderCode::find_in("mssp_999"),
            Some(ProviderCode::Other("mssp_999".into()))
        );
        assert_eq!(
            ProviderCode::find_in("failed with mssp_777 today"),
            Some(ProviderCode::Other("mssp_777".into()))
        );
        assert_eq!(
            ProviderCode::find_in("SomethingNew"),
            Some(ProviderCode::Other("SomethingNew".into()))
        );
        assert_eq!(ProviderCode::find_in("The user has not yet answered"), None);
        assert_eq!(ProviderCode::find_in(""), None);
        // A word that merely contains a code is not the code.
        assert_eq!(ProviderCode::find_in("xmssp_105 is odd"), None);
    }

    #[test]
    fn mssp_209_carries_both_readings() {
        let m = ProviderCode::Mssp209.meaning();
        assert!(
            m.contains("unreachable") && m.contains("already in progress"),
            "{m}"
        );
    }
}
