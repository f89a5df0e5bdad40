//! One macro for server vocabularies: acr values, error codes, states.

/// Declares a server vocabulary: an enum of the values this version knows,
/// each with its wire spelling, and an `Other(String)` case for the rest, so
/// that a value a server adds tomorrow is kept, not refused.
///
/// The enum gets `as_str`, `Display`, `FromStr` (infallible), `From<&str>`,
/// and serde as a plain string. Parsing takes the exact spelling first, then
/// the same letters in another case; `Other` keeps what was sent.
///
/// ```
/// smartid_core::vocabulary! {
///     /// A request state.
///     pub enum State {
///         /// Still running.
///         InProgress = "IN_PROGRESS",
///         /// Done.
///         Done = "DONE",
///     }
/// }
///
/// assert_eq!(State::from("IN_PROGRESS"), State::InProgress);
/// assert_eq!("done".parse::<State>(), Ok(State::Done));
/// assert_eq!(State::from("PAUSED"), State::Other("PAUSED".into()));
/// assert_eq!(State::Other("PAUSED".into()).to_string(), "PAUSED");
/// assert_eq!(serde_json::to_string(&State::Done).unwrap(), "\"DONE\"");
/// ```
#[macro_export]
macro_rules! vocabulary {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident {
            $( $(#[$vmeta:meta])* $variant:ident = $wire:literal ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash)]
        #[non_exhaustive]
        $vis enum $name {
            $( $(#[$vmeta])* $variant, )*
            /// A value this version does not know, as the server sent it.
            Other(::std::string::String),
        }

        #[allow(unreachable_pub)]
        impl $name {
            /// Every value this version knows.
            pub const KNOWN: &'static [$name] = &[$($name::$variant),*];

            /// The wire spelling.
            pub fn as_str(&self) -> &str {
                match self {
                    $( Self::$variant => $wire, )*
                    Self::Other(value) => value,
                }
            }

            /// Reads a wire value: the exact spelling, else the same
            /// letters in another case, else `Other`.
            pub fn parse(value: &str) -> Self {
                $( if value == $wire { return Self::$variant; } )*
                $( if value.eq_ignore_ascii_case($wire) { return Self::$variant; } )*
                Self::Other(value.to_owned())
            }

            /// Whether this is a value this version knows.
            pub fn is_known(&self) -> bool {
                !matches!(self, Self::Other(_))
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = ::std::convert::Infallible;
            fn from_str(value: &str) -> ::std::result::Result<Self, Self::Err> {
                Ok(Self::parse(value))
            }
        }

        impl ::std::convert::From<&str> for $name {
            fn from(value: &str) -> Self {
                Self::parse(value)
            }
        }

        impl $crate::internal::serde::Serialize for $name {
            fn serialize<S: $crate::internal::serde::Serializer>(
                &self,
                serializer: S,
            ) -> ::std::result::Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> $crate::internal::serde::Deserialize<'de> for $name {
            fn deserialize<D: $crate::internal::serde::Deserializer<'de>>(
                deserializer: D,
            ) -> ::std::result::Result<Self, D::Error> {
                // Read from the borrowed text: no allocation for a known value.
                struct WireValue;
                impl<'de> $crate::internal::serde::de::Visitor<'de> for WireValue {
                    type Value = $name;
                    fn expecting(
                        &self,
                        f: &mut ::std::fmt::Formatter<'_>,
                    ) -> ::std::fmt::Result {
                        f.write_str("a string")
                    }
                    fn visit_str<E: $crate::internal::serde::de::Error>(
                        self,
                        value: &str,
                    ) -> ::std::result::Result<$name, E> {
                        Ok($name::parse(value))
                    }
                    fn visit_bytes<E: $crate::internal::serde::de::Error>(
                        self,
                        value: &[u8],
                    ) -> ::std::result::Result<$name, E> {
                        match ::std::str::from_utf8(value) {
                            Ok(text) => Ok($name::parse(text)),
                            Err(_) => Err(E::invalid_value(
                                $crate::internal::serde::de::Unexpected::Bytes(value),
                                &self,
                            )),
                        }
                    }
                }
                deserializer.deserialize_str(WireValue)
            }
        }
    };
}

#[cfg(test)]
mod tests {
    crate::vocabulary! {
        /// Test vocabulary.
        pub(crate) enum Color {
            /// Red.
            Red = "red",
            /// Dark blue.
            DarkBlue = "DARK_BLUE",
        }
    }

    #[test]
    fn known_other_case_and_serde() -> Result<(), serde_json::Error> {
        assert_eq!(Color::from("red"), Color::Red);
        assert_eq!(Color::from("RED"), Color::Red);
        assert_eq!(Color::from("dark_blue"), Color::DarkBlue);
        assert_eq!(Color::from("green"), Color::Other("green".into()));
        assert!(!Color::from("green").is_known());
        assert_eq!(Color::KNOWN.len(), 2);
        let json = serde_json::to_string(&vec![Color::DarkBlue, Color::Other("x".into())])?;
        assert_eq!(json, r#"["DARK_BLUE","x"]"#);
        let back: Vec<Color> = serde_json::from_str(&json)?;
        assert_eq!(back, [Color::DarkBlue, Color::Other("x".into())]);
        Ok(())
    }

    #[test]
    fn deserialized_from_borrowed_escaped_and_owned_text() -> Result<(), serde_json::Error> {
        // Borrowed from the input, decoded from escapes, and owned (a Value).
        let read: Vec<Color> = serde_json::from_str(r#"["red","\u0072ed","gr\u00e9en"]"#)?;
        assert_eq!(read, [Color::Red, Color::Red, Color::Other("gréen".into())]);
        let owned: Color = serde_json::from_value(serde_json::json!("DARK_BLUE"))?;
        assert_eq!(owned, Color::DarkBlue);
        let err = serde_json::from_str::<Color>("7").map(|_| ()).unwrap_err();
        assert!(err.to_string().contains("expected a string"), "{err}");
        Ok(())
    }
}
