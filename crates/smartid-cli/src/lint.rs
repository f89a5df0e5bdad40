//! `smartid lint`: every problem of Identity Manager configuration files in
//! one pass (the behaviour of the `idm_lint` example), rendered as a
//! compiler renders its diagnostics, or as JSON for CI pipelines.

use std::path::PathBuf;
use std::process::ExitCode;

use annotate_snippets::{AnnotationKind, Group, Level, Renderer, Snippet};
use idm_config::{CheckOptions, Diagnostic, Linter, ReadEncoding, Secret, Severity};
use serde::Serialize;

use crate::output;

/// How `.properties` bytes are decoded.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum EncodingArg {
    /// UTF-8 when the bytes are valid UTF-8 with non-ASCII text, else ISO-8859-1.
    Detect,
    /// ISO-8859-1, as Java's `Properties.load(InputStream)`.
    #[value(alias = "iso-8859-1")]
    Latin1,
    /// UTF-8, as Java's `Properties.load(Reader)`.
    #[value(alias = "utf-8")]
    Utf8,
}

/// Output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum Format {
    /// Diagnostics as a compiler prints them.
    Human,
    /// One JSON document on standard output.
    Json,
}

/// Arguments of `smartid lint`.
#[derive(Debug, clap::Args)]
#[command(
    after_help = "PATH may be a D-Trust connector .properties file, Nexus_CM.properties, \
    any other .properties file (syntax only), a D-Trust bundle .zip, a Messaging Server entry \
    .json or Hermod's client settings .json (given together, the entry and Hermod's clients are \
    also checked to agree).\n\
    Exit codes: 0 no error (warnings allowed); 1 errors found; 2 a path cannot be read or wrong \
    usage."
)]
pub(crate) struct LintArgs {
    /// Files to lint.
    #[arg(required = true)]
    paths: Vec<PathBuf>,
    /// An e-mail domain verified at D-Trust (repeatable).
    #[arg(long = "verified-domain", value_name = "DOMAIN")]
    verified_domains: Vec<String>,
    /// How `.properties` bytes are decoded.
    #[arg(long, value_enum, default_value = "detect")]
    encoding: EncodingArg,
    /// Check Hermod's callback-basic-auth against this callback user; the
    /// password comes from SMARTID_CALLBACK_PASSWORD (never the command line,
    /// which other users can see).
    #[arg(long, value_name = "USER")]
    callback_user: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value = "human")]
    format: Format,
}

#[derive(Serialize)]
struct JsonDiagnostic<'a> {
    file: &'a str,
    line: Option<usize>,
    severity: &'static str,
    code: &'static str,
    message: &'a str,
    fix: Option<&'a str>,
}

#[derive(Serialize)]
struct JsonFile<'a> {
    file: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
    diagnostics: Vec<JsonDiagnostic<'a>>,
}

#[derive(Serialize)]
struct JsonReport<'a> {
    files: Vec<JsonFile<'a>>,
    errors: usize,
    warnings: usize,
    exit_code: u8,
}

/// Splits a message into what is wrong and what to change: the linter's
/// messages say the fix after the first "; ".
fn split_fix(message: &str) -> (&str, Option<&str>) {
    match message.split_once("; ") {
        Some((what, fix)) => (what, Some(fix)),
        None => (message, None),
    }
}

/// Renders one diagnostic with the offending line of the file.
fn render(d: &Diagnostic, source: Option<&str>, renderer: &Renderer) -> String {
    let (what, fix) = split_fix(&d.message);
    let level = match d.severity {
        Severity::Error => Level::ERROR,
        _ => Level::WARNING,
    };
    let title = level.primary_title(what).id(d.code.as_str());
    let line_text = d
        .line
        .zip(source)
        .and_then(|(n, text)| text.lines().nth(n.checked_sub(1)?).map(|l| (n, l)));
    let mut report = vec![match line_text {
        Some((n, text)) => {
            let start = text.len() - text.trim_start().len();
            let end = text.trim_end().len().max(start);
            let span = if start == end {
                0..text.len()
            } else {
                start..end
            };
            title.element(
                Snippet::source(text)
                    .line_start(n)
                    .path(d.file.as_str())
                    .annotation(AnnotationKind::Primary.span(span)),
            )
        }
        None => title.element(Level::NOTE.message(match d.line {
            Some(n) => format!("in {}, line {n}", d.file),
            None => format!("in {}", d.file),
        })),
    }];
    if let Some(fix) = fix {
        report.push(Group::with_title(Level::HELP.secondary_title(fix)));
    }
    renderer.render(&report)
}

/// Runs `smartid lint`.
pub(crate) fn run(args: LintArgs) -> ExitCode {
    let encoding = match args.encoding {
        EncodingArg::Detect => ReadEncoding::Detect,
        EncodingArg::Latin1 => ReadEncoding::Latin1,
        EncodingArg::Utf8 => ReadEncoding::Utf8,
    };
    let mut options = CheckOptions::default()
        .verified_email_domains(args.verified_domains)
        .properties_encoding(encoding);
    if let Some(user) = &args.callback_user {
        let password = std::env::var_os("SMARTID_CALLBACK_PASSWORD")
            .or_else(|| std::env::var_os("IDM_LINT_CALLBACK_PASSWORD"));
        let Some(password) = password else {
            anstream::eprintln!(
                "error: --callback-user needs the password in the environment variable \
                 SMARTID_CALLBACK_PASSWORD"
            );
            return ExitCode::from(2);
        };
        let password = Secret::new(password.to_string_lossy());
        options = options.callback_credentials(user, &password);
    }
    let mut linter = Linter::new(options);
    let mut unreadable = Vec::new();
    let mut results: Vec<(String, Vec<Diagnostic>)> = Vec::new();
    for path in &args.paths {
        let name = path.display().to_string();
        match linter.lint_path(path) {
            Ok((_, diagnostics)) => results.push((name, diagnostics)),
            Err(e) => unreadable.push((name, e.to_string())),
        }
    }
    let cross = linter.finish();
    for (name, diagnostics) in &mut results {
        diagnostics.extend(cross.iter().filter(|d| &d.file == name).cloned());
    }
    let errors = results
        .iter()
        .flat_map(|(_, d)| d)
        .filter(|d| d.is_error())
        .count();
    let warnings = results.iter().map(|(_, d)| d.len()).sum::<usize>() - errors;
    let code: u8 = if !unreadable.is_empty() {
        2
    } else if errors > 0 {
        1
    } else {
        0
    };

    if args.format == Format::Json {
        let mut files: Vec<JsonFile<'_>> = unreadable
            .iter()
            .map(|(name, e)| JsonFile {
                file: name.clone(),
                status: "unreadable",
                error: Some(e.clone()),
                diagnostics: Vec::new(),
            })
            .collect();
        for (name, diagnostics) in &results {
            let status = if diagnostics.iter().any(Diagnostic::is_error) {
                "errors"
            } else if diagnostics.is_empty() {
                "ok"
            } else {
                "warnings"
            };
            files.push(JsonFile {
                file: name.clone(),
                status,
                error: None,
                diagnostics: diagnostics
                    .iter()
                    .map(|d| {
                        let (message, fix) = split_fix(&d.message);
                        JsonDiagnostic {
                            file: &d.file,
                            line: d.line,
                            severity: d.severity.as_str(),
                            code: d.code.as_str(),
                            message,
                            fix,
                        }
                    })
                    .collect(),
            });
        }
        let report = JsonReport {
            files,
            errors,
            warnings,
            exit_code: code,
        };
        match serde_json::to_string_pretty(&report) {
            Ok(text) => println!("{text}"),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(2);
            }
        }
        return ExitCode::from(code);
    }

    for (name, e) in &unreadable {
        anstream::eprintln!("{}: {name}: {e}", output::red("error"));
    }
    let renderer = Renderer::styled();
    for (name, diagnostics) in &results {
        if diagnostics.is_empty() {
            anstream::println!("{} {name}", output::green("ok"));
            continue;
        }
        // The text of each file, to show the offending line (bundles and
        // unreadable text show the file and line only).
        let text = smartid_core::read_regular_file(name, idm_config::MAX_TEXT_FILE_BYTES)
            .ok()
            .filter(|b| !name.ends_with(".zip") && !b.starts_with(b"PK"))
            .map(|b| String::from_utf8_lossy(&b).into_owned());
        for d in diagnostics {
            anstream::println!("{}", render(d, text.as_deref(), &renderer));
            anstream::println!();
        }
    }
    if errors + warnings > 0 {
        anstream::println!(
            "{errors} error{}, {warnings} warning{}",
            if errors == 1 { "" } else { "s" },
            if warnings == 1 { "" } else { "s" }
        );
    }
    ExitCode::from(code)
}

#[cfg(test)]
mod tests {
    use super::*;
    use idm_config::Code;

    #[test]
    fn renders_file_line_marker_code_and_fix() {
        let d = Diagnostic::error(
            "dtrust.properties",
            Some(2),
            Code::TemplatesEmpty,
            "certificateTemplates is empty; list the D-Trust products",
        );
        let text = "url=https://x\ncertificateTemplates=\n";
        let out = render(&d, Some(text), &Renderer::plain());
        assert!(
            out.contains("error[D002]: certificateTemplates is empty"),
            "{out}"
        );
        assert!(out.contains("--> dtrust.properties:2"), "{out}");
        assert!(out.contains("2 | certificateTemplates="), "{out}");
        assert!(out.contains("^^^^"), "{out}");
        assert!(out.contains("help: list the D-Trust products"), "{out}");
    }
}
