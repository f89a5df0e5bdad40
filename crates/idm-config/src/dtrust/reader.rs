//! Reading a properties file key by key while collecting diagnostics.

use crate::diagnostic::{Code, Diagnostic, Severity};
use crate::properties::PropertiesFile;

/// The first spelling of `aliases` present in `file`.
pub(crate) fn find_key(file: &PropertiesFile, aliases: &[&'static str]) -> Option<&'static str> {
    aliases.iter().copied().find(|k| file.contains_key(k))
}

/// Whether `name` is a plain file name (no folder, no `..`, not absolute).
pub(crate) fn is_plain_file_name(name: &str) -> bool {
    !name.is_empty()
        && name != "."
        && name != ".."
        && !name.contains(['/', '\\', '\0'])
        && !(name.len() >= 2 && name.as_bytes().get(1) == Some(&b':'))
}

/// The file being read and the diagnostics found so far.
pub(super) struct Reader<'a> {
    pub(super) file: &'a PropertiesFile,
    out: Vec<Diagnostic>,
}

impl<'a> Reader<'a> {
    pub(super) fn new(file: &'a PropertiesFile) -> Self {
        Self {
            file,
            out: Vec::new(),
        }
    }

    /// The file's own (syntax) diagnostics and those found while reading,
    /// in line order (problems of the whole file first).
    pub(super) fn finish(self) -> Vec<Diagnostic> {
        let mut diagnostics: Vec<Diagnostic> = self.file.diagnostics().to_vec();
        diagnostics.extend(self.out);
        diagnostics.sort_by_key(|d| d.line.unwrap_or(0));
        diagnostics
    }

    fn line(&self, key: &str) -> Option<usize> {
        self.file.property(key).map(|p| p.line())
    }

    /// A diagnostic at `line` (`None`: the whole file).
    pub(super) fn push(
        &mut self,
        severity: Severity,
        line: Option<usize>,
        code: Code,
        message: impl Into<String>,
    ) {
        let d = match severity {
            Severity::Error => Diagnostic::error(self.file.name(), line, code, message),
            Severity::Warning => Diagnostic::warning(self.file.name(), line, code, message),
        };
        self.out.push(d);
    }

    /// Collects diagnostics found by a check outside this module.
    pub(super) fn out(&mut self) -> &mut Vec<Diagnostic> {
        &mut self.out
    }

    /// An error at the line of `key`.
    pub(super) fn error(&mut self, key: &str, code: Code, message: impl Into<String>) {
        let line = self.line(key);
        self.push(Severity::Error, line, code, message);
    }

    /// A warning at the line of `key`.
    pub(super) fn warning(&mut self, key: &str, code: Code, message: impl Into<String>) {
        let line = self.line(key);
        self.push(Severity::Warning, line, code, message);
    }

    /// The value under the first spelling of `aliases` present, with that
    /// spelling; a warning when several spellings are present.
    pub(super) fn find(&mut self, aliases: &[&'static str]) -> Option<(&'static str, String)> {
        let present: Vec<&'static str> = aliases
            .iter()
            .copied()
            .filter(|k| self.file.contains_key(k))
            .collect();
        let key = *present.first()?;
        if let Some(other) = present.get(1) {
            self.warning(
                other,
                Code::KeySpelledTwice,
                format!(
                    "`{key}` and `{other}` name the same setting; `{key}` is used: keep only one"
                ),
            );
        }
        Some((
            key,
            self.file.get(key).unwrap_or_default().trim().to_owned(),
        ))
    }

    /// An optional file name: `None` when absent; present but empty is a
    /// warning (the file is then found by content).
    pub(super) fn file_name(
        &mut self,
        aliases: &[&'static str],
        code: Code,
        what: &str,
    ) -> Option<String> {
        let (key, value) = self.find(aliases)?;
        if value.is_empty() {
            self.warning(
                key,
                code,
                format!("{key} is empty and ignored; the {what} is found in the zip by its content: remove the line or name the file"),
            );
            return None;
        }
        if !is_plain_file_name(&value) {
            self.warning(
                key,
                Code::FileNameNotPlain,
                format!("{key} `{value}` is not a plain file name; the files sit at the top level of the zip, so only the last part of the path is used"),
            );
        }
        Some(value)
    }
}
