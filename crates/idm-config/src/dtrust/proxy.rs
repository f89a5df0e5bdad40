//! The HTTP proxy (`proxyHost`, `proxyPort`); the connector supports no
//! proxy authentication.

use crate::diagnostic::Code;

use super::keys;
use super::reader::Reader;

/// An HTTP proxy (the connector supports no proxy authentication).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct ProxyConfig {
    /// Host name or IP address.
    pub host: String,
    /// Port.
    pub port: u16,
}

/// Keys of proxy credentials, which the connector does not support.
pub(super) const PROXY_AUTH_KEYS: &[&str] = &[
    "proxyUser",
    "proxyUsername",
    "proxyUserName",
    "proxyPassword",
    "proxyAuth",
];

/// The proxy when both host and port are given; half a proxy, a bad port
/// or proxy credentials are errors.
pub(super) fn read_proxy(r: &mut Reader<'_>) -> Option<ProxyConfig> {
    let proxy = read_host_and_port(r);
    for key in PROXY_AUTH_KEYS {
        if r.file.contains_key(key) {
            r.error(
                key,
                Code::ProxyAuthUnsupported,
                format!("{key}: the D-Trust connector does not support proxy authentication; use a proxy that needs none and remove the line"),
            );
        }
    }
    proxy
}

fn read_host_and_port(r: &mut Reader<'_>) -> Option<ProxyConfig> {
    let host = r
        .find(keys::PROXY_HOST_ALIASES)
        .filter(|(_, h)| !h.is_empty());
    let port = r
        .find(keys::PROXY_PORT_ALIASES)
        .filter(|(_, p)| !p.is_empty());
    match (host, port) {
        (None, None) => None,
        (Some((key, _)), None) => {
            r.error(
                key,
                Code::ProxyIncomplete,
                format!("{key} is set without a proxy port; add proxyPort=<port> or remove {key}"),
            );
            None
        }
        (None, Some((key, _))) => {
            r.error(
                key,
                Code::ProxyIncomplete,
                format!("{key} is set without a proxy host; add proxyHost=<host> or remove {key}"),
            );
            None
        }
        (Some((_, host)), Some((key, port))) => match port.parse::<u16>() {
            Ok(p) if p > 0 => Some(ProxyConfig { host, port: p }),
            _ => {
                r.error(
                    key,
                    Code::ProxyPortInvalid,
                    format!("{key} `{port}` is not a port number; write a number from 1 to 65535"),
                );
                None
            }
        },
    }
}
