//! hermod-client
