//! From Identity Manager's Messaging Server entry to a ready hermod-client
//! configuration.

use hermod_client::{CommandTiming, HermodConfig};
use smartid_core::HttpSettings;

use crate::error::{Error, Result};
use crate::messaging::MessagingServerEntry;

impl MessagingServerEntry {
    /// Checks the entry and, when there is no error, builds a hermod-client
    /// configuration: the command URL, the authentication token as API key,
    /// lifespan, timeout and SessionStart timeout, and `http` for trust,
    /// proxy and timeouts (e.g. a `TrustRoots::Only` with Hermod's CA, as
    /// the modified `cacerts` of the Identity Manager Tomcat would hold).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every error diagnostic when the entry
    /// has errors, [`Error::Hermod`] when hermod-client refuses the
    /// configuration.
    pub fn to_hermod_config(&self, http: HttpSettings) -> Result<HermodConfig> {
        let diagnostics = self.check("Messaging Server entry");
        if crate::diagnostic::has_errors(&diagnostics) {
            return Err(Error::invalid(&diagnostics));
        }
        let timing =
            CommandTiming::from_secs(self.lifespan, self.timeout, self.session_start_timeout)
                .map_err(hermod_client::Error::from)?;
        HermodConfig::builder(self.url.trim())
            .token_base64(self.authentication_token.expose_secret())
            .timing(timing)
            .http_settings(http)
            .build()
            .map_err(Error::from)
    }
}
