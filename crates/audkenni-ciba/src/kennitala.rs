//! Kennitala, the Icelandic national id number, with its checksum rule.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::Error;

/// A kennitala: ten digits `DDMMYY` + two digits + check digit + century
/// digit, whose check digit is valid (weights 3,2,7,6,5,4,3,2 mod 11).
///
/// ```
/// use audkenni_ciba::Kennitala;
/// let kt: Kennitala = "010130-3369".parse()?;
/// assert_eq!(kt.as_str(), "0101303369");
/// assert!("0101303379".parse::<Kennitala>().is_err());
/// # Ok::<(), audkenni_ciba::Error>(())
/// ```
#[derive(Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Kennitala(String);

impl Kennitala {
    /// Parses a kennitala; one `-` after the sixth digit is accepted.
    ///
    /// # Errors
    /// [`Error::InvalidKennitala`] for anything but ten digits, or a wrong check digit.
    pub fn parse(value: &str) -> Result<Self, Error> {
        // An invalid value may be a real kennitala with a typo: never whole in errors.
        let bad = |reason| Error::InvalidKennitala {
            value: mask(value),
            reason,
        };
        let compact: String = match value.trim().split_once('-') {
            Some((a, b)) if a.len() == 6 => format!("{a}{b}"),
            Some(_) => return Err(bad("the dash may only follow the sixth digit")),
            None => value.trim().to_owned(),
        };
        if compact.len() != 10 || !compact.bytes().all(|b| b.is_ascii_digit()) {
            return Err(bad("a kennitala is exactly ten digits"));
        }
        let digits: Vec<u32> = compact.bytes().map(|b| u32::from(b - b'0')).collect();
        let weights = [3u32, 2, 7, 6, 5, 4, 3, 2];
        let sum: u32 = digits.iter().zip(weights).map(|(d, w)| d * w).sum();
        let check = match 11 - sum % 11 {
            11 => 0,
            10 => {
                return Err(bad(
                    "no valid check digit exists for these first eight digits",
                ));
            }
            c => c,
        };
        if digits.get(8) != Some(&check) {
            return Err(bad("the check digit (ninth digit) is wrong"));
        }
        if !matches!(digits.get(9), Some(8 | 9 | 0)) {
            return Err(bad("the century digit (tenth digit) must be 8, 9 or 0"));
        }
        Ok(Self(compact))
    }

    /// The ten digits.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether this is a company's kennitala (day of month + 40).
    pub fn is_company(&self) -> bool {
        self.0.as_bytes().first().is_some_and(|d| *d >= b'4')
    }
}

/// The first six characters, the rest as `*`.
fn mask(value: &str) -> String {
    value
        .trim()
        .chars()
        .enumerate()
        .map(|(i, c)| if i < 6 || c == '-' { c } else { '*' })
        .collect()
}

impl FromStr for Kennitala {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for Kennitala {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        Self::parse(&s)
    }
}

impl From<Kennitala> for String {
    fn from(k: Kennitala) -> Self {
        k.0
    }
}

impl fmt::Display for Kennitala {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `Debug` masks the last four digits (`Kennitala(010130-****)`): logs and
/// error reports do not carry a full national id. `Display` and
/// [`Kennitala::as_str`] give the whole value, for where it is needed.
impl fmt::Debug for Kennitala {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Kennitala({}-****)", self.0.get(..6).unwrap_or("******"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seed_kennitala_is_valid() {
        let kt = Kennitala::parse("0101303369").unwrap();
        assert_eq!(kt.as_str(), "0101303369");
        assert!(!kt.is_company());
        assert_eq!(Kennitala::parse("010130-3369").unwrap(), kt);
    }

    #[test]
    fn checksum_rule() {
        // 0,1,0,1,3,0,3,3 weighted 3,2,7,6,5,4,3,2: 0+2+0+6+15+0+9+6 = 38;
        // 38 % 11 = 5; 11 - 5 = 6, the ninth digit of 0101303369.
        for bad in [
            "0101303359",
            "0101303379",
            "0101303367",
            "010130336",
            "01013033691",
            "01O1303369",
            "01013-03369",
        ] {
            assert!(Kennitala::parse(bad).is_err(), "{bad} accepted");
        }
        // Century digits 8 (1800s) and 0 (2000s) are accepted too.
        assert!(Kennitala::parse("0101303368").is_ok());
        assert!(Kennitala::parse("0101303360").is_ok());
        // Remainder 0 gives check digit 0.
        let first8 = [1u32, 2, 0, 1, 7, 4, 0, 1];
        let sum: u32 = first8
            .iter()
            .zip([3, 2, 7, 6, 5, 4, 3, 2])
            .map(|(a, b)| a * b)
            .sum();
        let check = (11 - sum % 11) % 11;
        let kt = format!("12017401{check}9");
        if check < 10 {
            assert!(Kennitala::parse(&kt).is_ok(), "{kt}");
        }
    }

    #[test]
    fn errors_do_not_carry_the_whole_value() {
        let err = Kennitala::parse("0101303379").unwrap_err();
        let (d, s) = (format!("{err:?}"), err.to_string());
        assert!(!d.contains("3379") && !s.contains("3379"), "{d} {s}");
        assert!(s.contains("010130****"), "{s}");
    }

    #[test]
    fn debug_masks_the_kennitala() {
        let kt = Kennitala::parse("0101303369").unwrap();
        let dbg = format!("{kt:?}");
        assert_eq!(dbg, "Kennitala(010130-****)");
        assert!(!format!("{:?}", Some(&kt)).contains("3369"));
        assert_eq!(kt.to_string(), "0101303369");
    }

    #[test]
    fn serde_round_trip_validates() {
        let kt: Kennitala = serde_json::from_str("\"0101303369\"").unwrap();
        assert_eq!(serde_json::to_string(&kt).unwrap(), "\"0101303369\"");
        assert!(serde_json::from_str::<Kennitala>("\"0101303379\"").is_err());
    }
}
