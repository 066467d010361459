//! The keep-alive sweep: refresh every account whose refresh token is about
//! to expire, before nobody can.
//!
//! A backend's users come and go; an account nobody used for weeks has a
//! refresh token that dies on the server's schedule, and then the user must
//! sign in again. [`AccountRegistry::sweep`](crate::AccountRegistry::sweep)
//! refreshes those accounts ahead of time. Run it from a timer (every hour,
//! say, with a window of a day), from one instance or from all of them.
//!
//! # What is due
//!
//! An account is due when its stored refresh token expires within
//! [`SweepOptions::refresh_token_expiring_within_secs`] from now, or, with
//! [`SweepOptions::not_refreshed_for_secs`], when its tokens were last
//! refreshed (received) longer ago than that (SQLite: the record was last
//! written then). Candidates come from the store's indexed metadata one page
//! at a time ([`SweepOptions::page_size`], keyset-paged, see `candidates`),
//! so a million accounts never sit in memory at once. Each candidate gets
//! a session built for the sweep and dropped after it (or the registry's hot
//! keeper, if it has one: the sweep never fills the hot list), and is
//! checked again on the tokens it loads before anything is sent.
//!
//! # Once per sweep, across instances
//!
//! The refresh is the session's normal one (single flight, the store's
//! per-account lock or lease, re-reading under it, rotation, fencing,
//! unsaved tokens), so when several instances sweep one store at once each
//! account is refreshed once: the first takes the lock and refreshes; the
//! others find a strictly newer generation in the store under the lock and
//! adopt it (counted [`SweepSummary::already_refreshed`]), or load the new
//! tokens already and find the account no longer due (counted the same).
//!
//! # Limits
//!
//! At most [`SweepOptions::max_concurrent_refreshes`] refreshes run at once
//! (default 8), and at most [`SweepOptions::max_refreshes_per_second`]
//! start per second per authorization server (the token endpoint's origin),
//! shared by every sweep in the process (`rate_limit`; default 50, `None`
//! for no limit; zero or negative is a `Configuration` error). A refresh's
//! own retries follow the template's policy (`max_retries`); the sweep does
//! not try an account twice.
//!
//! # What is reported
//!
//! [`SweepSummary`]: how many were due and how each ended: refreshed here,
//! already refreshed elsewhere, skipped (gone meanwhile: logged out), signed
//! out (the server refused the refresh token: the normal refresh path ended
//! the session and deleted its record, the only deletion a sweep causes;
//! their account ids), or failed (account id, error kind and the error's
//! text, which never holds a secret; tokens kept). While it runs, an
//! optional [`SweepProgress`] gets the counts so far on tokenkeep's event
//! thread (never under a lock), the last call equal to the summary.
//! Every due account ends in exactly one of the five counts.
//!
//! The nearest alternative is `proactive_refresh` in the policy: it keeps
//! *hot* sessions fresh; the sweep reaches the accounts nobody is using.
//!
//! ```no_run
//! use tokenkeep::{AccountRegistry, SqliteStore, SweepOptions, TokenKeeperOptions};
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let store = SqliteStore::open("/var/lib/my-service/tokens.sqlite".into(), vec![0u8; 32])?;
//! let template = TokenKeeperOptions::new("https://auth.example.com/oauth/token", "my-service");
//! let registry = AccountRegistry::new_on_sqlite(template, store, 10_000)?;
//! let summary = registry.sweep(SweepOptions::within_secs(86_400), None).await?;
//! println!("{summary}"); // refreshed, signed out (ids), failed (ids and why)
//! # Ok(()) }
//! ```

mod candidates;
mod rate_limit;

use std::sync::atomic::{AtomicBool, AtomicI64, Ordering};
use std::sync::Arc;
use std::time::Instant;

use futures::StreamExt;
use parking_lot::Mutex;

pub(crate) use candidates::Candidates;

use crate::clock::Clock;
use crate::config::TokenKeeperOptions;
use crate::error::{Error, TokenKeepError};
use crate::policy::RefreshPolicy;
use crate::session::Session;
use crate::store::DueQuery;

/// What a sweep refreshes and how fast.
#[derive(Debug, Clone, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct SweepOptions {
    /// Refresh accounts whose refresh token expires within this many
    /// seconds from now (1 or more).
    pub refresh_token_expiring_within_secs: i64,
    /// Also refresh accounts not refreshed for this many seconds (1 or
    /// more); `None`: only the expiry window counts.
    #[uniffi(default = None)]
    pub not_refreshed_for_secs: Option<i64>,
    /// Refreshes running at once (1 or more).
    #[uniffi(default = 8)]
    pub max_concurrent_refreshes: i32,
    /// Refreshes started per second per authorization server, shared by
    /// every sweep in the process (1 or more); `None`: no limit.
    #[uniffi(default = Some(50))]
    pub max_refreshes_per_second: Option<i32>,
    /// Account ids read from the store per query (1 or more).
    #[uniffi(default = 500)]
    pub page_size: i32,
}

impl SweepOptions {
    /// The defaults, with a window of `secs` seconds.
    pub fn within_secs(secs: i64) -> Self {
        SweepOptions {
            refresh_token_expiring_within_secs: secs,
            not_refreshed_for_secs: None,
            max_concurrent_refreshes: 8,
            max_refreshes_per_second: Some(50),
            page_size: 500,
        }
    }
}

/// How one account of a sweep failed (its tokens are kept).
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct SweepFailure {
    /// The account.
    pub account_id: String,
    /// The error's kind: `Transient`, `Storage`, `BadResponse`,
    /// `Configuration`, `NotSignedIn`, `Authorization` or `Internal`.
    pub kind: String,
    /// The error's text (never holds a secret).
    pub message: String,
}

/// Counts so far, given to a [`SweepProgress`] while a sweep runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct SweepCounts {
    /// Accounts the store listed as due.
    pub due: i64,
    /// Refreshed by this sweep.
    pub refreshed: i64,
    /// Refreshed by another instance or session meanwhile (adopted).
    pub already_refreshed: i64,
    /// Gone or without tokens when loaded (logged out meanwhile).
    pub skipped: i64,
    /// The server refused the refresh token: sign in again.
    pub signed_out: i64,
    /// Failed otherwise; tokens kept.
    pub failed: i64,
}

/// What a sweep did. `due = refreshed + already_refreshed + skipped +
/// signed_out.len() + failed.len()`.
#[derive(Debug, Clone, PartialEq, Eq, uniffi::Record)]
#[uniffi::export(Debug, Display)]
pub struct SweepSummary {
    /// Accounts the store listed as due.
    pub due: i64,
    /// Refreshed by this sweep.
    pub refreshed: i64,
    /// Refreshed by another instance or session meanwhile.
    pub already_refreshed: i64,
    /// Gone or without tokens when loaded.
    pub skipped: i64,
    /// Accounts whose refresh token the server refused (their sessions
    /// ended and records were deleted): these users must sign in again.
    pub signed_out: Vec<String>,
    /// Accounts that failed otherwise (tokens kept); not retried by the sweep.
    pub failed: Vec<SweepFailure>,
    /// How long the sweep took.
    pub elapsed_ms: i64,
}

display_as_debug!(SweepOptions, SweepFailure, SweepCounts, SweepSummary);

/// Told of a sweep's progress. Implement it in Rust or in any binding;
/// called on tokenkeep's event thread, never under a lock.
#[uniffi::export(with_foreign)]
pub trait SweepProgress: Send + Sync {
    /// The counts so far (each only grows; the last call has the summary's).
    fn on_progress(&self, counts: SweepCounts);
}

/// Checked options.
#[derive(Clone, Copy)]
struct Limits {
    window_ms: i64,
    not_refreshed_for_ms: Option<i64>,
    concurrency: usize,
    per_second: Option<u32>,
    page_size: u32,
}

fn at_least_one(name: &str, value: i64) -> Result<i64, Error> {
    if value >= 1 {
        Ok(value)
    } else {
        Err(Error::configuration(format!(
            "SweepOptions.{name} is {value}; it must be 1 or more"
        )))
    }
}

impl Limits {
    fn check(options: &SweepOptions) -> Result<Self, Error> {
        let secs = |s: i64| s.saturating_mul(1000);
        Ok(Limits {
            window_ms: secs(at_least_one(
                "refresh_token_expiring_within_secs",
                options.refresh_token_expiring_within_secs,
            )?),
            not_refreshed_for_ms: options
                .not_refreshed_for_secs
                .map(|s| at_least_one("not_refreshed_for_secs", s).map(secs))
                .transpose()?,
            concurrency: usize::try_from(at_least_one(
                "max_concurrent_refreshes",
                options.max_concurrent_refreshes.into(),
            )?)
            .unwrap_or(1),
            per_second: options
                .max_refreshes_per_second
                .map(|n| at_least_one("max_refreshes_per_second (None for no limit)", n.into()))
                .transpose()?
                .map(|n| u32::try_from(n).unwrap_or(u32::MAX)),
            page_size: u32::try_from(at_least_one("page_size", options.page_size.into())?).unwrap_or(1),
        })
    }
}

/// What a sweep works on, taken from the registry.
pub(crate) struct SweepTarget {
    /// The registry's template (`store` set).
    pub(crate) template: TokenKeeperOptions,
    pub(crate) candidates: Candidates,
    /// The registry's hot session of an account, if it has one (without
    /// making it more recently used).
    pub(crate) hot: HotSessionOf,
}

/// Looks up the registry's hot session of an account.
pub(crate) type HotSessionOf = Box<dyn Fn(&str) -> Option<Arc<Session>> + Send + Sync>;

/// Checks `options` (synchronously, so a bad one fails before anything runs).
pub(crate) fn check(options: &SweepOptions) -> Result<(), Error> {
    Limits::check(options).map(|_| ())
}

/// How one account ended.
enum Outcome {
    Refreshed,
    AlreadyRefreshed,
    Skipped,
    SignedOut(String),
    Failed(SweepFailure),
}

/// Live counts, read by the progress callback.
#[derive(Default)]
struct Counters {
    due: AtomicI64,
    refreshed: AtomicI64,
    already_refreshed: AtomicI64,
    skipped: AtomicI64,
    signed_out: AtomicI64,
    failed: AtomicI64,
}

impl Counters {
    fn snapshot(&self) -> SweepCounts {
        // Read in the reverse order of the writes (`due` last), so a
        // snapshot never shows more finished than due.
        let failed = self.failed.load(Ordering::SeqCst);
        let signed_out = self.signed_out.load(Ordering::SeqCst);
        let skipped = self.skipped.load(Ordering::SeqCst);
        let already_refreshed = self.already_refreshed.load(Ordering::SeqCst);
        let refreshed = self.refreshed.load(Ordering::SeqCst);
        SweepCounts {
            due: self.due.load(Ordering::SeqCst),
            refreshed,
            already_refreshed,
            skipped,
            signed_out,
            failed,
        }
    }
}

/// Calls the progress callback on the event thread, at most one call
/// queued at a time (each reads the counts when it runs).
struct Reporter {
    progress: Option<Arc<dyn SweepProgress>>,
    counters: Arc<Counters>,
    queued: Arc<AtomicBool>,
}

impl Reporter {
    fn changed(&self) {
        let Some(progress) = self.progress.clone() else { return };
        if self.queued.swap(true, Ordering::SeqCst) {
            return;
        }
        let (counters, queued) = (self.counters.clone(), self.queued.clone());
        crate::dispatch::queue(Box::new(move || {
            queued.store(false, Ordering::SeqCst);
            progress.on_progress(counters.snapshot());
        }));
    }

    fn finished(&self, counts: SweepCounts) {
        if let Some(progress) = self.progress.clone() {
            crate::dispatch::queue(Box::new(move || progress.on_progress(counts)));
        }
    }
}

/// Runs a sweep over `target` (see the module docs).
pub(crate) async fn run(
    target: SweepTarget,
    options: SweepOptions,
    progress: Option<Arc<dyn SweepProgress>>,
) -> Result<SweepSummary, Error> {
    let limits = Limits::check(&options)?;
    let started = Instant::now();
    let clock = target.template.clock.clone().map_or(Clock::System, Clock::Manual);
    let now = clock.now_ms();
    let refresh_expiring_by = now.saturating_add(limits.window_ms);
    let mut queries = vec![DueQuery::RefreshExpiringBy(refresh_expiring_by)];
    if let Some(age) = limits.not_refreshed_for_ms {
        queries.push(DueQuery::NotWrittenSince {
            since: now.saturating_sub(age),
            refresh_expiring_by,
        });
    }
    let origin = url::Url::parse(&target.template.token_endpoint)
        .map(|u| crate::config::origin_of(&u))
        .unwrap_or_else(|_| target.template.token_endpoint.clone());
    let check = Due {
        refresh_expiring_by,
        received_before: limits.not_refreshed_for_ms.map(|age| now.saturating_sub(age)),
        sweep_started_ms: now,
    };
    let target = Arc::new(target);
    let counters = Arc::new(Counters::default());
    let reporter = Reporter {
        progress,
        counters: counters.clone(),
        queued: Arc::new(AtomicBool::new(false)),
    };
    let listing_error: Arc<Mutex<Option<Error>>> = Arc::default();
    let signed_out = Mutex::new(Vec::new());
    let failed = Mutex::new(Vec::new());

    let accounts = pages(
        target.candidates.clone(),
        queries,
        limits.page_size,
        listing_error.clone(),
        counters.clone(),
    );
    accounts
        .map(|account| {
            let target = target.clone();
            let origin = origin.clone();
            async move {
                if let Some(per_second) = limits.per_second {
                    rate_limit::wait_turn(&origin, per_second).await;
                }
                sweep_one(&target, account, &check).await
            }
        })
        .buffer_unordered(limits.concurrency)
        .for_each(|outcome| {
            let counter = match outcome {
                Outcome::Refreshed => &counters.refreshed,
                Outcome::AlreadyRefreshed => &counters.already_refreshed,
                Outcome::Skipped => &counters.skipped,
                Outcome::SignedOut(account) => {
                    signed_out.lock().push(account);
                    &counters.signed_out
                }
                Outcome::Failed(failure) => {
                    failed.lock().push(failure);
                    &counters.failed
                }
            };
            counter.fetch_add(1, Ordering::SeqCst);
            reporter.changed();
            futures::future::ready(())
        })
        .await;

    let counts = counters.snapshot();
    reporter.finished(counts);
    if let Some(error) = listing_error.lock().take() {
        return Err(error);
    }
    let mut signed_out = signed_out.into_inner();
    signed_out.sort();
    let mut failed = failed.into_inner();
    failed.sort_by(|a, b| a.account_id.cmp(&b.account_id));
    let summary = SweepSummary {
        due: counts.due,
        refreshed: counts.refreshed,
        already_refreshed: counts.already_refreshed,
        skipped: counts.skipped,
        signed_out,
        failed,
        elapsed_ms: i64::try_from(started.elapsed().as_millis()).unwrap_or(i64::MAX),
    };
    tracing::info!(
        due = summary.due,
        refreshed = summary.refreshed,
        already_refreshed = summary.already_refreshed,
        signed_out = summary.signed_out.len(),
        failed = summary.failed.len(),
        elapsed_ms = summary.elapsed_ms,
        "keep-alive sweep finished"
    );
    Ok(summary)
}

/// The due accounts, page after page, query after query; a listing error
/// ends the stream and is kept for the summary.
fn pages(
    candidates: Candidates,
    queries: Vec<DueQuery>,
    page_size: u32,
    error: Arc<Mutex<Option<Error>>>,
    counters: Arc<Counters>,
) -> impl futures::Stream<Item = String> {
    struct Cursor {
        queries: std::vec::IntoIter<DueQuery>,
        current: Option<DueQuery>,
        after: (i64, String),
    }
    let mut queries = queries.into_iter();
    let current = queries.next();
    let cursor = Cursor {
        queries,
        current,
        after: (i64::MIN, String::new()),
    };
    futures::stream::unfold(cursor, move |mut cursor| {
        let (candidates, error, counters) = (candidates.clone(), error.clone(), counters.clone());
        async move {
            loop {
                let query = cursor.current?;
                let page = crate::runtime::blocking_section(|| candidates.page(query, &cursor.after, page_size));
                match page {
                    Err(e) => {
                        *error.lock() = Some(Error::from_store(e, "the keep-alive sweep could not list the due accounts; nothing was changed for the accounts not yet swept, run the sweep again"));
                        return None;
                    }
                    Ok(page) if page.is_empty() => {
                        cursor.current = cursor.queries.next();
                        cursor.after = (i64::MIN, String::new());
                    }
                    Ok(page) => {
                        if let Some(last) = page.last() {
                            cursor.after = last.clone();
                        }
                        counters.due.fetch_add(i64::try_from(page.len()).unwrap_or(i64::MAX), Ordering::SeqCst);
                        let accounts: Vec<String> = page.into_iter().map(|(_, account)| account).collect();
                        return Some((futures::stream::iter(accounts), cursor));
                    }
                }
            }
        }
    })
    .flatten()
}

/// The due check on loaded tokens.
#[derive(Clone, Copy)]
struct Due {
    refresh_expiring_by: i64,
    received_before: Option<i64>,
    sweep_started_ms: i64,
}

/// Refreshes one account through its session, if it is still due.
async fn sweep_one(target: &SweepTarget, account: String, due: &Due) -> Outcome {
    let session = match (target.hot)(&account) {
        Some(hot) => hot,
        None => {
            let options = TokenKeeperOptions {
                account_id: account.clone(),
                policy: RefreshPolicy {
                    proactive_refresh: false,
                    ..target.template.policy.clone()
                },
                ..target.template.clone()
            };
            match crate::runtime::blocking_section(|| Session::open(options)) {
                Ok(session) => session,
                Err(error) => return failure(account, error),
            }
        }
    };
    let Some(tokens) = session.tokens() else {
        return Outcome::Skipped;
    };
    let received = tokens.received_at_unix_ms();
    let still_due = tokens.has_refresh_token()
        && (tokens
            .refresh_token_expires_at_unix_ms()
            .is_some_and(|at| at <= due.refresh_expiring_by)
            || due.received_before.is_some_and(|before| received <= before));
    if !still_due || received > due.sweep_started_ms {
        return Outcome::AlreadyRefreshed;
    }
    let adoptions = session.adoptions();
    match session.clone().refresh().await {
        Ok(_) if session.adoptions() > adoptions => Outcome::AlreadyRefreshed,
        Ok(_) => Outcome::Refreshed,
        Err(error) => failure(account, error),
    }
}

/// Sorts a failed refresh into signed out, skipped or failed.
fn failure(account: String, error: Error) -> Outcome {
    let public = TokenKeepError::from(error);
    let kind = match &public {
        TokenKeepError::SessionExpired { .. } => return Outcome::SignedOut(account),
        TokenKeepError::NotSignedIn { .. } => "NotSignedIn",
        TokenKeepError::Transient { .. } => "Transient",
        TokenKeepError::Authorization { .. } => "Authorization",
        TokenKeepError::BadResponse { .. } => "BadResponse",
        TokenKeepError::Configuration { .. } => "Configuration",
        TokenKeepError::Storage { .. } => "Storage",
        TokenKeepError::Internal { .. } => "Internal",
    };
    Outcome::Failed(SweepFailure {
        account_id: account,
        kind: kind.into(),
        message: public.to_string(),
    })
}
