//! Progress for long waits (CIBA, issuance, callbacks, network checks): a
//! spinner with the elapsed time and the deadline on a terminal, one plain
//! line per wait otherwise (logs and CI stay readable).

use std::future::Future;
use std::io::IsTerminal as _;
use std::time::Duration;

use indicatif::{ProgressBar, ProgressStyle};

/// One wait in progress. Drop or [`Wait::finish`] it when the wait ends.
pub(crate) struct Wait {
    bar: Option<ProgressBar>,
}

impl Wait {
    /// Starts showing `label` with the time allowed (`deadline`), on
    /// standard error: a spinner when it is a terminal, else the line
    /// `waiting: LABEL (up to Ns)`.
    pub(crate) fn start(label: &str, deadline: Option<Duration>) -> Self {
        let limit = deadline
            .map(|d| format!(" (up to {}s)", d.as_secs_f64().ceil() as u64))
            .unwrap_or_default();
        if !std::io::stderr().is_terminal() {
            eprintln!("waiting: {label}{limit}");
            return Self { bar: None };
        }
        let bar = ProgressBar::new_spinner();
        let template = format!("{{spinner}} {{msg}} {{elapsed}}{limit}");
        if let Ok(style) = ProgressStyle::with_template(&template) {
            bar.set_style(style);
        }
        bar.set_message(label.to_owned());
        bar.enable_steady_tick(Duration::from_millis(100));
        Self { bar: Some(bar) }
    }

    /// Ends the wait (the spinner line is removed).
    pub(crate) fn finish(self) {}
}

impl Drop for Wait {
    fn drop(&mut self) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

/// Runs `future` while showing a [`Wait`].
pub(crate) async fn waiting<F: Future>(
    label: &str,
    deadline: Option<Duration>,
    future: F,
) -> F::Output {
    let wait = Wait::start(label, deadline);
    let out = future.await;
    wait.finish();
    out
}
