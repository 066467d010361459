//! Handing tokenkeep's log lines to the app's logging: [`LogSink`].
//!
//! The core logs with [`tracing`]. A Rust app sees those lines through its
//! own subscriber, as for any other crate (for example
//! `tracing_subscriber::fmt().with_env_filter("tokenkeep=info").init()`);
//! nothing here is needed and tokenkeep never installs a subscriber on its
//! own. A language binding has no tracing subscriber, so it implements
//! [`LogSink`] (forwarding to Python's `logging`, SLF4J or
//! `java.util.logging`, `os.Logger`) and installs it with [`set_log_sink`].
//! Only then does tokenkeep make its bridge the process's global tracing
//! subscriber. Only records whose target is tokenkeep's own (`tokenkeep`,
//! `tokenkeep::…`) are passed on: the HTTP and TLS crates below stay quiet.
//!
//! # What is logged, at which level
//!
//! No level carries a secret: messages and fields name accounts, paths,
//! key ids, counts and errors (whose texts never contain credentials).
//!
//! | level | when |
//! |-------|------|
//! | [`LogLevel::Error`] | tokens held only in memory were lost with their session (dropped while the store still failed); an expired session's tokens could not be deleted from the store; a store lock could not be released |
//! | [`LogLevel::Warn`]  | refreshed tokens could not be stored (they are kept in memory and stored later) or still cannot be; a token refresh failed; a session ended (sign in again); `invalid_grant`, but the store held newer tokens which were adopted; revocation failed at logout (logged out locally); the SQLite store could not switch to WAL mode; an app callback panicked |
//! | [`LogLevel::Info`]  | tokens held only in memory are stored now; a store purged token records; a store key was rotated |
//! | [`LogLevel::Debug`] | a token endpoint request is retried, or a refresh waits for its next attempt without the store lock; tokens another session stored were adopted; memory holds newer tokens than the store; a refresh result was dropped because the tokens changed meanwhile; the refresh-in-flight marker could not be written; an HTTP 401 triggers a refresh and one retry; a device sign-in poll failed; leftover temporary files removed (or not) |
//! | [`LogLevel::Trace`] | nothing yet |
//!
//! # Cost, and where filtering happens
//!
//! Handing a record to another language costs tens of microseconds, so the
//! level filter lives here, before the boundary: [`set_log_sink`] and
//! [`set_log_level`] take the most verbose level to pass on, and tracing's
//! own static check then skips a disabled log statement with one atomic load
//! (no record is built, nothing crosses). A binding derives that level from
//! its logger's configuration and calls [`set_log_level`] when it changes.
//!
//! # Threads
//!
//! The sink is called on tokenkeep's single dispatch thread (the one that
//! calls listeners), in order, never on the thread that logged, so a log
//! line written while a refresh holds a lock cannot call into the app under
//! that lock, and a slow sink cannot stall a refresh. Records logged just
//! before the process exits are delivered by `flush_listener_events`. A sink
//! that panics (or throws, in a binding) loses that record and nothing else.

use std::fmt::{self, Write as _};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Arc;

use once_cell::sync::OnceCell;
use parking_lot::RwLock;
use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber};

use crate::dispatch;

/// How severe a log record is, most severe first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, uniffi::Enum)]
pub enum LogLevel {
    /// Something failed that the app should know about (tokens not stored).
    Error,
    /// Something failed and tokenkeep carried on (a refresh failed).
    Warn,
    /// Noteworthy maintenance (a store purged records, a key was rotated).
    Info,
    /// Details of the token lifecycle (retries, adoption, dropped results).
    Debug,
    /// The finest details.
    Trace,
}

impl LogLevel {
    /// The rank used for filtering: 1 (error) to 5 (trace); 0 means off.
    fn rank(self) -> u8 {
        match self {
            LogLevel::Error => 1,
            LogLevel::Warn => 2,
            LogLevel::Info => 3,
            LogLevel::Debug => 4,
            LogLevel::Trace => 5,
        }
    }

    fn of(level: &Level) -> Self {
        match *level {
            Level::ERROR => LogLevel::Error,
            Level::WARN => LogLevel::Warn,
            Level::INFO => LogLevel::Info,
            Level::DEBUG => LogLevel::Debug,
            Level::TRACE => LogLevel::Trace,
        }
    }
}

/// One log line of tokenkeep's, as handed to a [`LogSink`]. Never holds a
/// secret.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct LogRecord {
    /// How severe it is.
    pub level: LogLevel,
    /// Where it was written: the Rust module path, such as `tokenkeep::session`.
    pub target: String,
    /// What happened, in words.
    pub message: String,
    /// The structured fields as `key=value` pairs separated by spaces, such
    /// as `account=default error=…`; empty when there are none.
    pub fields: String,
}

/// Receives tokenkeep's log records (a binding forwards them to its
/// platform's logging). Called on tokenkeep's dispatch thread, never while
/// tokenkeep holds a lock.
#[uniffi::export(with_foreign)]
pub trait LogSink: Send + Sync {
    /// One record at or above the level given to [`set_log_sink`].
    fn log(&self, record: LogRecord);
}

/// Rank of the most verbose level passed on; 0: nothing is.
static MAX_RANK: AtomicU8 = AtomicU8::new(0);

/// The installed sink.
static SINK: RwLock<Option<Arc<dyn LogSink>>> = RwLock::new(None);

/// Whether the bridge became the global tracing subscriber (decided once).
static BRIDGE_INSTALLED: OnceCell<bool> = OnceCell::new();

/// Sends tokenkeep's log records at `max_level` and above to `sink`,
/// replacing any sink installed before. The first call makes tokenkeep's
/// bridge the process's global tracing subscriber; returns `false` if
/// another subscriber already was (a Rust host app with its own logging),
/// in which case that subscriber gets the records and `sink` gets none.
#[uniffi::export]
pub fn set_log_sink(sink: Arc<dyn LogSink>, max_level: LogLevel) -> bool {
    let installed = *BRIDGE_INSTALLED.get_or_init(|| tracing::subscriber::set_global_default(LogBridge).is_ok());
    if installed {
        *SINK.write() = Some(sink);
        set_log_level(max_level);
    }
    installed
}

/// Changes the most verbose level passed to the installed sink (for
/// example when the app changed its logger's level).
#[uniffi::export]
pub fn set_log_level(max_level: LogLevel) {
    MAX_RANK.store(max_level.rank(), Ordering::Relaxed);
    tracing::callsite::rebuild_interest_cache();
}

/// Removes the sink: nothing more is passed on (records already queued are
/// dropped). Bindings call it before their runtime shuts down.
#[uniffi::export]
pub fn clear_log_sink() {
    MAX_RANK.store(0, Ordering::Relaxed);
    *SINK.write() = None;
    tracing::callsite::rebuild_interest_cache();
}

/// Whether `target` is one of tokenkeep's own.
fn is_tokenkeep(target: &str) -> bool {
    target
        .strip_prefix("tokenkeep")
        .is_some_and(|rest| rest.is_empty() || rest.starts_with("::"))
}

/// The tracing subscriber that queues tokenkeep's events for the sink.
struct LogBridge;

impl Subscriber for LogBridge {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if metadata.is_event() && is_tokenkeep(metadata.target()) {
            Interest::sometimes()
        } else {
            Interest::never()
        }
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(match MAX_RANK.load(Ordering::Relaxed) {
            0 => LevelFilter::OFF,
            1 => LevelFilter::ERROR,
            2 => LevelFilter::WARN,
            3 => LevelFilter::INFO,
            4 => LevelFilter::DEBUG,
            _ => LevelFilter::TRACE,
        })
    }

    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event()
            && is_tokenkeep(metadata.target())
            && LogLevel::of(metadata.level()).rank() <= MAX_RANK.load(Ordering::Relaxed)
    }

    fn new_span(&self, _span: &Attributes<'_>) -> Id {
        // Spans are never enabled (see `enabled`); any id will do.
        Id::from_u64(1)
    }

    fn record(&self, _span: &Id, _values: &Record<'_>) {}

    fn record_follows_from(&self, _span: &Id, _follows: &Id) {}

    fn event(&self, event: &Event<'_>) {
        let metadata = event.metadata();
        let mut text = RecordText::default();
        event.record(&mut text);
        let record = LogRecord {
            level: LogLevel::of(metadata.level()),
            target: metadata.target().to_owned(),
            message: text.message,
            fields: text.fields,
        };
        dispatch::queue(Box::new(move || deliver(record)));
    }

    fn enter(&self, _span: &Id) {}

    fn exit(&self, _span: &Id) {}
}

/// Hands `record` to the sink installed now, if any (on the dispatch thread).
/// A panicking sink is caught here, not by the dispatch thread, whose own
/// warning about it would come back to the same sink.
fn deliver(record: LogRecord) {
    let sink = SINK.read().clone();
    if let Some(sink) = sink {
        let _ = catch_unwind(AssertUnwindSafe(|| sink.log(record)));
    }
}

/// An event's message and its other fields as `key=value` text.
#[derive(Default)]
struct RecordText {
    message: String,
    fields: String,
}

impl RecordText {
    fn field(&mut self, field: &Field) -> &mut String {
        if field.name() == "message" {
            return &mut self.message;
        }
        if !self.fields.is_empty() {
            self.fields.push(' ');
        }
        self.fields.push_str(field.name());
        self.fields.push('=');
        &mut self.fields
    }
}

impl Visit for RecordText {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.field(field).push_str(value);
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        let _ = write!(self.field(field), "{value:?}");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_tokenkeep_targets_are_passed_on() {
        assert!(is_tokenkeep("tokenkeep"));
        assert!(is_tokenkeep("tokenkeep::session"));
        assert!(!is_tokenkeep("tokenkeeper"));
        assert!(!is_tokenkeep("hyper::proto"));
    }

    #[test]
    fn levels_rank_from_error_to_trace() {
        let levels = [Level::ERROR, Level::WARN, Level::INFO, Level::DEBUG, Level::TRACE];
        let ranks: Vec<u8> = levels.iter().map(|l| LogLevel::of(l).rank()).collect();
        assert_eq!(ranks, vec![1, 2, 3, 4, 5]);
    }
}

display_as_debug!(LogRecord);
