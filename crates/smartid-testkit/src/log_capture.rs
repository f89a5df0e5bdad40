//! A capturing `tracing` subscriber for tests: every event, with its fields
//! and the spans it happened in, kept in memory. It does not answer
//! `Span::current()` (a field recorded through it later is not seen): check
//! the event's own fields for those.
//!
//! ```
//! use smartid_testkit::log_capture::LogCapture;
//! let capture = LogCapture::new();
//! {
//!     let _guard = capture.install();
//!     // ... code under test (on this thread) ...
//! }
//! assert!(capture.events().is_empty());
//! ```

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Metadata, Subscriber};

/// One span an event happened in.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CapturedSpan {
    /// The span's name.
    pub name: String,
    /// Its fields, as they were when the event happened (values rendered
    /// with `Debug`, strings without quotes).
    pub fields: BTreeMap<String, String>,
}

/// One captured event.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CapturedEvent {
    /// `TRACE`, `DEBUG`, `INFO`, `WARN` or `ERROR`.
    pub level: String,
    /// The event's target.
    pub target: String,
    /// Its message (the `message` field).
    pub message: String,
    /// Its other fields.
    pub fields: BTreeMap<String, String>,
    /// The spans it happened in, outermost first.
    pub spans: Vec<CapturedSpan>,
}

impl CapturedEvent {
    /// The field `name` of the event or, failing that, of its innermost
    /// span that has it.
    pub fn field(&self, name: &str) -> Option<&str> {
        self.fields.get(name).map(String::as_str).or_else(|| {
            self.spans
                .iter()
                .rev()
                .find_map(|s| s.fields.get(name).map(String::as_str))
        })
    }

    /// Everything of the event as one line of text (for "does this appear
    /// anywhere" checks).
    pub fn text(&self) -> String {
        let mut out = format!("{} {} {}", self.level, self.target, self.message);
        for s in &self.spans {
            out.push_str(&format!(" {}{:?}", s.name, s.fields));
        }
        out.push_str(&format!(" {:?}", self.fields));
        out
    }
}

#[derive(Default)]
struct Shared {
    next: AtomicU64,
    spans: Mutex<HashMap<u64, CapturedSpan>>,
    stacks: Mutex<HashMap<std::thread::ThreadId, Vec<u64>>>,
    events: Mutex<Vec<CapturedEvent>>,
}

/// The capturing subscriber. Cheap to clone; clones share what they saw.
#[derive(Clone, Default)]
pub struct LogCapture {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for LogCapture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogCapture")
            .field("events", &self.events().len())
            .finish()
    }
}

/// While alive, the capture is the current thread's subscriber.
#[must_use = "the capture ends when the guard is dropped"]
pub struct CaptureGuard {
    _guard: tracing::subscriber::DefaultGuard,
}

impl std::fmt::Debug for CaptureGuard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CaptureGuard")
    }
}

impl LogCapture {
    /// A capture that has seen nothing.
    pub fn new() -> Self {
        Self::default()
    }

    /// Makes this capture the subscriber of the current thread (use a
    /// current-thread runtime so that spawned tasks are seen too).
    pub fn install(&self) -> CaptureGuard {
        CaptureGuard {
            _guard: tracing::subscriber::set_default(self.clone()),
        }
    }

    /// The events so far, in order.
    pub fn events(&self) -> Vec<CapturedEvent> {
        self.shared
            .events
            .lock()
            .map(|e| e.clone())
            .unwrap_or_default()
    }
}

struct Fields<'a> {
    message: &'a mut String,
    fields: &'a mut BTreeMap<String, String>,
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            *self.message = value.to_owned();
        } else {
            self.fields
                .insert(field.name().to_owned(), value.to_owned());
        }
    }

    fn record_debug(&mut self, field: &Field, value: &dyn std::fmt::Debug) {
        let text = format!("{value:?}");
        if field.name() == "message" {
            *self.message = text;
        } else {
            self.fields.insert(field.name().to_owned(), text);
        }
    }
}

impl Subscriber for LogCapture {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }

    fn max_level_hint(&self) -> Option<tracing::level_filters::LevelFilter> {
        Some(tracing::level_filters::LevelFilter::TRACE)
    }

    fn new_span(&self, attrs: &Attributes<'_>) -> Id {
        let id = self.shared.next.fetch_add(1, Ordering::Relaxed) + 1;
        let mut span = CapturedSpan {
            name: attrs.metadata().name().to_owned(),
            fields: BTreeMap::new(),
        };
        let mut ignored = String::new();
        attrs.record(&mut Fields {
            message: &mut ignored,
            fields: &mut span.fields,
        });
        if let Ok(mut spans) = self.shared.spans.lock() {
            spans.insert(id, span);
        }
        Id::from_u64(id)
    }

    fn record(&self, span: &Id, values: &Record<'_>) {
        if let Ok(mut spans) = self.shared.spans.lock()
            && let Some(s) = spans.get_mut(&span.into_u64())
        {
            let mut ignored = String::new();
            values.record(&mut Fields {
                message: &mut ignored,
                fields: &mut s.fields,
            });
        }
    }

    fn record_follows_from(&self, _: &Id, _: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let mut message = String::new();
        let mut fields = BTreeMap::new();
        event.record(&mut Fields {
            message: &mut message,
            fields: &mut fields,
        });
        let stack = self
            .shared
            .stacks
            .lock()
            .ok()
            .and_then(|s| s.get(&std::thread::current().id()).cloned())
            .unwrap_or_default();
        let spans = self
            .shared
            .spans
            .lock()
            .map(|all| stack.iter().filter_map(|id| all.get(id).cloned()).collect())
            .unwrap_or_default();
        let meta = event.metadata();
        let captured = CapturedEvent {
            level: meta.level().to_string(),
            target: meta.target().to_owned(),
            message,
            fields,
            spans,
        };
        if let Ok(mut events) = self.shared.events.lock() {
            events.push(captured);
        }
    }

    fn enter(&self, span: &Id) {
        if let Ok(mut stacks) = self.shared.stacks.lock() {
            stacks
                .entry(std::thread::current().id())
                .or_default()
                .push(span.into_u64());
        }
    }

    fn exit(&self, span: &Id) {
        if let Ok(mut stacks) = self.shared.stacks.lock()
            && let Some(stack) = stacks.get_mut(&std::thread::current().id())
            && let Some(pos) = stack.iter().rposition(|s| *s == span.into_u64())
        {
            stack.remove(pos);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn captures_events_with_their_spans() {
        let capture = LogCapture::new();
        {
            let _g = capture.install();
            let span = tracing::debug_span!("outer", flow = "f-1");
            let _e = span.enter();
            tracing::info!(target: "x", status = 200, "done");
        }
        tracing::info!("not captured");
        let events = capture.events();
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].message, "done");
        assert_eq!(events[0].level, "INFO");
        assert_eq!(events[0].field("status"), Some("200"));
        assert_eq!(events[0].field("flow"), Some("f-1"));
    }
}
