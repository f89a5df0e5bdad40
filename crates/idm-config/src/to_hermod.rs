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
    /// # Example
    /// ```
    /// use idm_config::{Error, HttpSettings, MessagingServerEntry, Secret};
    ///
    /// let entry = MessagingServerEntry::new(
    ///     "Hermod",
    ///     "https://hermod.example:20400/hermod/rest/command",
    ///     Secret::new("cHJpbWUxOnNlY3JldA=="), // base64("prime1:secret")
    ///     600,
    ///     300,
    /// );
    /// let config = entry.to_hermod_config(HttpSettings::new())?;
    /// assert_eq!(config.token().client_id(), "prime1");
    ///
    /// // The timeout must be shorter than the lifespan.
    /// let mut late = entry.clone();
    /// late.timeout = 600;
    /// let Err(Error::InvalidConfig(problems)) = late.to_hermod_config(HttpSettings::new()) else {
    ///     unreachable!()
    /// };
    /// assert!(problems[0].message.starts_with("error[M007]: "));
    /// # Ok::<(), Error>(())
    /// ```
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
