//! Audkenni-like OpenID Connect CIBA provider (filled by the audkenni-ciba work).
