//! Entry points for the fuzz targets in `fuzz/` and for the replay of their
//! committed corpora (`tests/fuzz_replay.rs`). **Not part of the public
//! API**: no stability promise. Each function runs its input through the
//! public parsers and checks a caller would run, and renders what comes
//! out (diagnostics, errors) so that a panic anywhere on that path shows.

use std::time::{Duration, SystemTime};

use crate::{
    CheckOptions, Diagnostic, DtrustBundle, DtrustConnectorConfig, HermodClients, Linter,
    MessagingServerEntry, PropertiesFile, ReadEncoding, ZipLimits,
};

/// A fixed time for the certificate checks, so that a replay gives the
/// same answer every day (2026-06-01T00:00:00Z).
fn options() -> CheckOptions {
    CheckOptions {
        now: SystemTime::UNIX_EPOCH + Duration::from_secs(1_780_272_000),
        ..CheckOptions::default()
    }
}

fn render(diagnostics: &[Diagnostic]) {
    for d in diagnostics {
        let _ = format!("{d} {d:?}");
    }
}

/// A `.properties` file in each of the three decodings, its round trip
/// through [`PropertiesFile::to_bytes`], an edit, and the D-Trust and
/// Certificate Manager checks and the linter over it.
pub fn properties(data: &[u8]) {
    for encoding in [
        ReadEncoding::Detect,
        ReadEncoding::Latin1,
        ReadEncoding::Utf8,
    ] {
        let mut file = PropertiesFile::parse_with(data, "fuzz.properties", encoding);
        render(file.diagnostics());
        for p in file.iter() {
            let _ = (p.key().len(), p.value().len(), p.line());
        }
        let _ = file.all_entries().count();
        let text = file.to_text();
        let again = PropertiesFile::parse_str(&text, "fuzz.properties");
        let _ = again.len();
        let first = file.iter().next().map(|p| p.key().to_owned());
        if let Some(key) = first {
            file.set(&key, "fuzz = value\\ with: separators\n");
            let _ = file.get(&key);
            let _ = file.remove(&key);
        }
        let _ = file.to_bytes();
        let checked = DtrustConnectorConfig::from_properties(&file, &options());
        render(&checked.diagnostics);
        let _ = checked.value.to_properties("fuzz.properties").to_text();
        let _ = checked.value.transport();
        render(&crate::check_certificate_manager_properties(&file));
    }
    let mut linter = Linter::new(options());
    let (_, diagnostics) = linter.lint_properties(data, "fuzz.properties");
    render(&diagnostics);
    render(&linter.finish());
}

/// A connector zip: [`DtrustBundle::read`] with the default and with small
/// limits, the bundle check, the conversion to a dtrust-client
/// configuration, the linter, and the zip writer over what was read.
pub fn connector_zip(data: &[u8]) {
    let small = ZipLimits::default()
        .max_entries(8)
        .max_entry_bytes(64 * 1024)
        .max_total_bytes(256 * 1024);
    for bundle in [
        DtrustBundle::read(data, "fuzz.zip"),
        DtrustBundle::read_with_limits(data, "fuzz.zip", &small),
    ] {
        match bundle {
            Ok(bundle) => {
                let _ = bundle.names().count();
                let names: Vec<String> = bundle.names().map(str::to_owned).collect();
                for name in &names {
                    let _ = bundle.file(name).map(<[u8]>::len);
                }
                if let Some(p) = bundle.properties() {
                    render(p.diagnostics());
                }
                let checked = bundle.check(&options());
                render(&checked.diagnostics);
                if let Err(e) = bundle.to_dtrust_config(&options()) {
                    let _ = format!("{e} {e:?}");
                }
                let _ = bundle.to_zip().map(|z| z.len());
            }
            Err(e) => {
                let _ = format!("{e} {e:?}");
            }
        }
    }
    let mut linter = Linter::new(options());
    render(&linter.lint_bundle(data, "fuzz.zip"));
    render(&linter.finish());
}

/// A Messaging Server entry (Identity Manager's JSON): parse, check, the
/// accessors, the conversion to a hermod-client configuration, and the
/// linter.
pub fn messaging_entry_json(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let checked = MessagingServerEntry::from_json(&text, "fuzz.messaging.json");
    render(&checked.diagnostics);
    if let Some(entry) = checked.value {
        render(&entry.check("fuzz.messaging.json"));
        let _ = (entry.client_id(), entry.lifespan(), entry.timeout());
        let _ = entry.session_start_timeout();
        let _ = entry.credentials().map(|(id, _)| id);
        let _ = format!("{entry:?}");
        if let Err(e) = entry.to_hermod_config(crate::HttpSettings::new()) {
            let _ = format!("{e}");
        }
    }
    let mut linter = Linter::new(options());
    let (_, diagnostics) = linter.lint_json(data, "fuzz.messaging.json");
    render(&diagnostics);
    render(&linter.finish());
}

/// Hermod's client settings (its JSON configuration file): parse, look-ups,
/// the callback-credential and agreement checks, and the linter.
pub fn hermod_settings_json(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let checked = HermodClients::from_json(&text, "fuzz.hermod.json");
    render(&checked.diagnostics);
    let clients = checked.value;
    let _ = format!("{clients:?}");
    let _ = clients.client("fuzz");
    render(&crate::check_callback_credentials(
        &clients,
        "fuzz.hermod.json",
        Some("fuzz"),
        "user",
        &crate::Secret::new("password"),
    ));
    let entry = MessagingServerEntry::from_json(
        r#"{"name":"Hermod","url":"https://hermod.example.test/hermod/rest/command","authenticationToken":"ZnV6ejpmdXp6LWtleQ==","lifespan":600,"timeout":300}"#,
        "entry.json",
    );
    if let Some(entry) = entry.value {
        render(&crate::check_agreement(
            &entry,
            "entry.json",
            &clients,
            "fuzz.hermod.json",
        ));
    }
    let mut linter = Linter::new(options());
    let (_, diagnostics) = linter.lint_json(data, "fuzz.hermod.json");
    render(&diagnostics);
    render(&linter.finish());
}
