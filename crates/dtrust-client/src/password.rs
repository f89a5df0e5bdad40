//! Revocation passwords: the policy, random generation, and (for revoking
//! old certificates only) this crate's former CN-derived password.

use smartid_core::Secret;

use crate::error::{Error, Result};

/// Rules a revocation password must meet. D-Trust's rules differ per
/// product (see the product in the D-Trust portal); configure the strictest
/// one you order.
///
/// Defaults to 12 to 32 characters with at least one upper-case letter, one
/// lower-case letter and one digit, no special character required, special
/// characters drawn from `-_.!#+`.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct PasswordPolicy {
    /// Minimum length in characters.
    pub min_length: usize,
    /// Maximum length in characters.
    pub max_length: usize,
    /// At least one of `A-Z`.
    pub require_upper: bool,
    /// At least one of `a-z`.
    pub require_lower: bool,
    /// At least one of `0-9`.
    pub require_digit: bool,
    /// At least one of [`PasswordPolicy::special_characters`].
    pub require_special: bool,
    /// The special characters allowed (and used by the generator when
    /// `require_special` is set). Other characters are refused.
    pub special_characters: String,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_length: 12,
            max_length: 32,
            require_upper: true,
            require_lower: true,
            require_digit: true,
            require_special: false,
            special_characters: "-_.!#+".to_owned(),
        }
    }
}

impl PasswordPolicy {
    /// Sets the length bounds.
    #[must_use]
    pub fn length(mut self, min: usize, max: usize) -> Self {
        self.min_length = min;
        self.max_length = max;
        self
    }

    /// Requires a special character.
    #[must_use]
    pub fn require_special(mut self, yes: bool) -> Self {
        self.require_special = yes;
        self
    }

    /// Checks a password; the message says which rule failed (never the password).
    ///
    /// # Errors
    /// [`Error::InvalidOrder`] on field `revocation_password`.
    pub fn check(&self, password: &Secret) -> Result<()> {
        let p = password.expose_secret();
        let n = p.chars().count();
        let fail = |message: String| {
            Err(Error::InvalidOrder {
                field: "revocation_password",
                message,
            })
        };
        if n < self.min_length || n > self.max_length {
            return fail(format!(
                "has {n} characters; the policy needs {} to {}",
                self.min_length, self.max_length
            ));
        }
        // The position only: the character itself is part of the password.
        if let Some(position) = p
            .chars()
            .position(|c| !c.is_ascii_alphanumeric() && !self.special_characters.contains(c))
        {
            return fail(format!(
                "character {} is one the policy does not allow (allowed: A-Z a-z 0-9 and {})",
                position + 1,
                self.special_characters
            ));
        }
        let rules = [
            (
                self.require_upper,
                p.chars().any(|c| c.is_ascii_uppercase()),
                "an upper-case letter",
            ),
            (
                self.require_lower,
                p.chars().any(|c| c.is_ascii_lowercase()),
                "a lower-case letter",
            ),
            (
                self.require_digit,
                p.chars().any(|c| c.is_ascii_digit()),
                "a digit",
            ),
            (
                self.require_special,
                p.chars().any(|c| self.special_characters.contains(c)),
                "a special character",
            ),
        ];
        for (required, present, what) in rules {
            if required && !present {
                return fail(format!("needs at least {what}"));
            }
        }
        Ok(())
    }

    fn validate(&self) -> Result<()> {
        let classes = [
            self.require_upper,
            self.require_lower,
            self.require_digit,
            self.require_special,
        ]
        .iter()
        .filter(|x| **x)
        .count();
        if self.min_length > LONGEST {
            return Err(policy_problem(format!(
                "a minimum length of {} is beyond any revocation password policy; use at most \
                 {LONGEST}",
                self.min_length
            )));
        }
        if self.min_length == 0 || self.max_length < self.min_length || self.max_length < classes {
            return Err(policy_problem(format!(
                "length bounds {}..={} are impossible; use 1 <= min <= max",
                self.min_length, self.max_length
            )));
        }
        if self.require_special && self.special_characters.is_empty() {
            return Err(policy_problem(
                "a special character is required but none is allowed",
            ));
        }
        Ok(())
    }
}

/// The longest minimum length a policy may ask for (it bounds the work and
/// memory of [`generate_revocation_password`]).
const LONGEST: usize = 1024;

const UPPER: &str = "ABCDEFGHJKLMNPQRSTUVWXYZ";
const LOWER: &str = "abcdefghijkmnopqrstuvwxyz";
const DIGITS: &str = "23456789";

/// Generates a random revocation password meeting `policy` (length
/// `max(min_length, 16)` capped at `max_length`; look-alike characters left
/// out), from the operating system's random generator.
///
/// # Errors
/// [`Error::InvalidConfig`] when the policy cannot be met;
/// [`Error::KeyGeneration`] when the random generator fails.
///
/// ```
/// use dtrust_client::{PasswordPolicy, generate_revocation_password};
/// let policy = PasswordPolicy::default().require_special(true);
/// let password = generate_revocation_password(&policy)?;
/// policy.check(&password)?;
/// # Ok::<(), dtrust_client::Error>(())
/// ```
pub fn generate_revocation_password(policy: &PasswordPolicy) -> Result<Secret> {
    policy.validate()?;
    let len = policy.min_length.max(16).min(policy.max_length);
    let mut classes: Vec<&str> = Vec::new();
    let specials: String = policy
        .special_characters
        .chars()
        .filter(|c| c.is_ascii_graphic())
        .collect();
    if policy.require_upper {
        classes.push(UPPER);
    }
    if policy.require_lower {
        classes.push(LOWER);
    }
    if policy.require_digit {
        classes.push(DIGITS);
    }
    if policy.require_special {
        classes.push(&specials);
    }
    let all: Vec<char> = [UPPER, LOWER, DIGITS]
        .concat()
        .chars()
        .chain(if policy.require_special {
            specials.chars().collect()
        } else {
            Vec::new()
        })
        .collect();
    // Rejection sampling: draw until every required class is present.
    for _ in 0..1000 {
        let mut out = String::with_capacity(len);
        for _ in 0..len {
            out.push(pick(&all)?);
        }
        let candidate = Secret::new(out);
        if classes
            .iter()
            .all(|class| candidate.expose_secret().chars().any(|c| class.contains(c)))
            && policy.check(&candidate).is_ok()
        {
            return Ok(candidate);
        }
    }
    Err(policy_problem(
        "could not generate a password meeting it; relax the policy",
    ))
}

fn policy_problem(message: impl Into<String>) -> Error {
    Error::InvalidConfig(vec![smartid_core::ConfigProblem::new(
        "password_policy",
        message,
    )])
}

fn pick(chars: &[char]) -> Result<char> {
    let n = u32::try_from(chars.len()).unwrap_or(u32::MAX).max(1);
    let zone = u32::MAX - (u32::MAX % n);
    loop {
        let mut b = [0u8; 4];
        aws_lc_rs::rand::fill(&mut b).map_err(|_| Error::KeyGeneration {
            message: "the system random generator failed".into(),
        })?;
        let v = u32::from_le_bytes(b);
        if v < zone {
            let i = usize::try_from(v % n).unwrap_or(0);
            return chars.get(i).copied().ok_or_else(|| Error::KeyGeneration {
                message: "empty character set".into(),
            });
        }
    }
}

/// A random client reference: 32 lower-case hex digits.
pub(crate) fn random_reference() -> String {
    let mut b = [0u8; 16];
    if aws_lc_rs::rand::fill(&mut b).is_err() {
        // Extremely unlikely; fall back to the standard library's own
        // randomly seeded hasher keys (no clock involved).
        use std::hash::{BuildHasher as _, Hasher as _};
        let half = || {
            std::collections::hash_map::RandomState::new()
                .build_hasher()
                .finish()
        };
        b = (u128::from(half()) << 64 | u128::from(half())).to_le_bytes();
    }
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// LEGACY: the revocation password this crate's earlier versions derived
/// from the CN for orders without a password (`"Rv"` + the first 16 hex
/// digits of SHA-256 over the UTF-8 CN + `"9"`). Reached only through
/// [`crate::DtrustClient::revoke_with_legacy_cn_password`]; never used for
/// new orders (anyone who knows the CN can compute it).
///
/// This is NOT the Identity Manager connector's derivation, which is not
/// public: it revokes only certificates ordered by earlier versions of this
/// crate without a password.
pub(crate) fn legacy_revocation_password(common_name: &str) -> Secret {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA256, common_name.as_bytes());
    let hex: String = digest
        .as_ref()
        .iter()
        .take(8)
        .map(|x| format!("{x:02x}"))
        .collect();
    Secret::new(format!("Rv{hex}9"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_passwords_meet_their_policy_and_differ() {
        for policy in [
            PasswordPolicy::default(),
            PasswordPolicy::default()
                .require_special(true)
                .length(20, 20),
            PasswordPolicy::default().length(4, 6),
        ] {
            let a = generate_revocation_password(&policy).unwrap();
            let b = generate_revocation_password(&policy).unwrap();
            policy.check(&a).unwrap();
            assert_ne!(a, b);
        }
    }

    #[test]
    fn policy_messages_name_the_rule_not_the_password() {
        let p = PasswordPolicy::default();
        let err = p.check(&Secret::new("short1A")).unwrap_err().to_string();
        assert!(
            err.contains("7 characters") && !err.contains("short1A"),
            "{err}"
        );
        let err = p
            .check(&Secret::new("alllowercase1"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("upper-case"), "{err}");
        let err = p
            .check(&Secret::new("Umlaut\u{e4}Passw0rd"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("character 7") && !err.contains('\u{e4}') && !err.contains("U+00E4"),
            "{err}"
        );
        let err = p
            .check(&Secret::new("Secret$Passw0rd"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("character 7") && !err.contains('$'), "{err}");
        assert!(generate_revocation_password(&PasswordPolicy::default().length(5, 2)).is_err());
    }

    #[test]
    fn absurd_lengths_are_refused_not_allocated() {
        let huge = PasswordPolicy::default().length(usize::MAX / 2, usize::MAX / 2);
        let e = generate_revocation_password(&huge).unwrap_err().to_string();
        assert!(e.contains("at most 1024"), "{e}");
        let long = PasswordPolicy::default().length(1024, 1024);
        long.check(&generate_revocation_password(&long).unwrap())
            .unwrap();
    }

    #[test]
    fn legacy_password_is_stable_and_meets_the_default_policy() {
        let a = legacy_revocation_password("www.example.de");
        assert_eq!(a, legacy_revocation_password("www.example.de"));
        assert_ne!(a, legacy_revocation_password("www.example.com"));
        PasswordPolicy::default().check(&a).unwrap();
    }
}
