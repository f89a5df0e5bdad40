//! A value read from configuration together with the problems found in it.

use crate::diagnostic::{Diagnostic, has_errors};
use crate::error::{Error, Result};

/// A configuration value and every problem found while reading it.
///
/// The value is filled as far as the input allows even when there are
/// errors, so that one pass reports everything.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Checked<T> {
    /// What was read.
    pub value: T,
    /// Every problem found, in file order.
    pub diagnostics: Vec<Diagnostic>,
}

impl<T> Checked<T> {
    pub(crate) fn new(value: T, diagnostics: Vec<Diagnostic>) -> Self {
        Self { value, diagnostics }
    }

    /// Whether any diagnostic is an error.
    pub fn has_errors(&self) -> bool {
        has_errors(&self.diagnostics)
    }

    /// The value when there is no error (warnings are dropped).
    ///
    /// # Errors
    /// [`Error::InvalidConfig`] with every error diagnostic when there is one.
    pub fn into_result(self) -> Result<T> {
        if self.has_errors() {
            Err(Error::invalid(&self.diagnostics))
        } else {
            Ok(self.value)
        }
    }
}
