//! dtrust-client
