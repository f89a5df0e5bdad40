//! Hermod-like Smart ID Messaging service (filled by the hermod-client work).
