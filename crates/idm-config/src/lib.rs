//! idm-config
