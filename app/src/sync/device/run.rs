//! The sync run and the loop that starts it: push everything pending, then pull until up to
//! date; after every write, when the network or the server says so, every 30 s, and after a run
//! that could not reach the server, on the engine's backoff.

use super::{
    runtime::{runtime, Runtime},
    status::{SyncProblem, SyncStatus},
    transport::{post_json, Failure},
    uploads::upload_blobs,
};
use crate::sync::protocol::{PullResponse, PushResponse};
use chrono::Utc;
use std::time::Duration;
use wasm_bindgen::{closure::Closure, JsCast};

/// Between syncs when nothing is wrong: writes and pokes start one sooner.
const IDLE: Duration = Duration::from_secs(30);

/// Rows per page of a device's first sync. Parsing and storing a page is one task of the main
/// thread, so a phone's first visit, which stores a thousand records while the person starts
/// to work, takes them in pages small enough not to hold up a tap; later pulls carry few rows
/// and take the server's largest page. (docs/perf-log.md, 2026-12-05.)
const FIRST_SYNC_PAGE: u32 = 100;

/// Whether an hour has passed since this page last evicted rows (or it never has).
fn eviction_due() -> bool {
    use std::cell::Cell;
    thread_local! {
        static LAST: Cell<Option<chrono::DateTime<Utc>>> = const { Cell::new(None) };
    }
    let now = Utc::now();
    LAST.with(|last| {
        let due = last.get().is_none_or(|t| now - t >= chrono::Duration::hours(1));
        if due {
            last.set(Some(now));
        }
        due
    })
}

/// How a sync run ended, which sets the wait before the loop's next one.
pub(super) enum Run {
    Finished,
    /// The network or the server was not there (no answer, or a 5xx): back off.
    Unreachable,
    /// Another run was going, or this device is not ready to sync.
    Skipped,
}

/// The syncing tab's loop (see the module's comment).
pub(super) async fn lead() {
    if let Some(rt) = runtime() {
        // Writes other tabs made before this one took over.
        let mut engine = rt.engine.lock().await;
        let _ = engine.reload().await;
        rt.publish(&engine, |_| {});
    }
    if let Some(window) = web_sys::window() {
        for event in ["online", "offline"] {
            let cb = Closure::<dyn Fn()>::new(kick);
            let _ = window.add_event_listener_with_callback(event, cb.as_ref().unchecked_ref());
            cb.forget();
        }
    }
    // "Pull now" from the server when someone else's change lands; the browser reconnects the
    // stream by itself after a network loss.
    if let Ok(events) = web_sys::EventSource::new("/api/sync/events") {
        let cb = Closure::<dyn Fn()>::new(kick);
        let _ = events.add_event_listener_with_callback("poke", cb.as_ref().unchecked_ref());
        cb.forget();
        Box::leak(Box::new(events)); // lives as long as the page
    }
    loop {
        let wait = match super::lazy::sync_once().await {
            // The engine's backoff, with full jitter: 1 s doubling to 5 minutes, so devices do
            // not all come back at the same moment to a server that was down.
            Run::Unreachable => match runtime() {
                Some(rt) => rt.engine.lock().await.on_failure(random_u64()),
                None => IDLE,
            },
            Run::Finished | Run::Skipped => IDLE,
        };
        gloo_timers::future::TimeoutFuture::new(wait.as_millis().min(u128::from(u32::MAX)) as u32).await;
    }
}

fn random_u64() -> u64 {
    (js_sys::Math::random() * u64::MAX as f64) as u64
}

/// Syncs now if this is the syncing tab; another tab hears of the write and syncs it.
pub(super) fn kick() {
    if runtime().is_some_and(|rt| rt.leader.get()) {
        leptos::task::spawn_local(async {
            super::lazy::sync_once().await;
        });
    }
}

/// A User Timing measure from its start to its drop, named `fc:…` (DevTools' Performance panel
/// shows it; end2end/measure/long-tasks.mjs lists it beside the long tasks it overlaps).
struct Measure(&'static str);

impl Measure {
    fn start(name: &'static str) -> Self {
        if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
            let _ = p.mark(name);
        }
        Measure(name)
    }
}

impl Drop for Measure {
    fn drop(&mut self) {
        if let Some(p) = web_sys::window().and_then(|w| w.performance()) {
            let _ = p.measure_with_start_mark(self.0, self.0);
            p.clear_marks_with_mark_name(self.0);
        }
    }
}

/// Marks a sync run going in this tab for as long as it lives.
struct Running<'a>(&'a Runtime);

impl<'a> Running<'a> {
    fn start(rt: &'a Runtime) -> Option<Self> {
        (!rt.running.replace(true)).then_some(Running(rt))
    }
}

impl Drop for Running<'_> {
    fn drop(&mut self) {
        self.0.running.set(false);
    }
}

/// What a sync step can change in the records shown: the outbox (a refused write leaves it)
/// and the refused writes.
fn records_shape(engine: &super::runtime::DeviceEngine) -> (usize, usize) {
    (engine.state().pending.len(), engine.state().rejected.len())
}

/// The problem a failed request leaves, and whether it means the server was out of reach.
fn problem_of(failure: Failure) -> SyncProblem {
    match failure {
        Failure::Offline | Failure::ServerError(_) => SyncProblem::Unreachable,
        Failure::ClientIdReused => SyncProblem::ClientIdReused,
        Failure::Refused(detail) => SyncProblem::Refused(detail.message),
    }
}

/// Pushes everything pending, then pulls until up to date. One at a time per tab.
///
/// The engine is locked only to build a request and to apply its response, never across the
/// network: on one bar of signal a push or pull takes seconds, and a save waiting for the
/// engine would wait for it.
///
/// In the device's lazy chunk (`lazy`, fetched at the first sync, right after the store opens):
/// the first screen shows and searches the device's records without it, and it brings the push
/// and pull requests and responses, the uploads and their errors. A failed fetch of the chunk is
/// retried by `pwa.js` until it arrives (no sync could run without signal anyway).
pub(super) async fn sync_once_now() -> Run {
    let Some(rt) = runtime() else { return Run::Skipped };
    let Some(running) = Running::start(&rt) else { return Run::Skipped }; // one run at a time
    if !web_sys::window().map(|w| w.navigator().on_line()).unwrap_or(true) {
        rt.publish_status(&*rt.engine.lock().await, |s| s.syncing = false);
        return Run::Unreachable;
    }
    rt.publish_status(&*rt.engine.lock().await, |s| s.syncing = true);
    // Whether the records on screen are out of date: a refused write leaves the outbox.
    let mut records_changed = false;
    let mut unreachable = false;
    // A photo the server refuses is kept and reported, but does not hold up the writes; one
    // that cannot be sent for want of a connection means the writes cannot go either.
    let (mut problem, upload_problem) = match upload_blobs(&rt).await {
        Ok(()) => (None, None),
        Err(f) if f.is_unreachable() => {
            unreachable = true;
            (Some(SyncProblem::Unreachable), None)
        }
        Err(Failure::Refused(detail)) => (None, Some(SyncProblem::UploadRefused(detail.message))),
        Err(other) => (None, Some(problem_of(other))),
    };
    rt.refresh_counts().await;
    while problem.is_none() {
        let Some(req) = rt.engine.lock().await.push_request(50) else { break };
        match post_json::<_, PushResponse>("/api/sync/push", &req).await {
            Ok(resp) => {
                let mut engine = rt.engine.lock().await;
                let before = records_shape(&engine);
                let applied = engine.on_push_response(&resp).await;
                records_changed |= records_shape(&engine) != before;
                if let Err(e) = applied {
                    problem = Some(SyncProblem::Storage(e.to_string()));
                }
            }
            Err(Failure::ClientIdReused) => {
                records_changed = true;
                if let Err(e) = rt.engine.lock().await.on_client_id_reused().await {
                    problem = Some(SyncProblem::Storage(e.to_string()));
                }
            }
            Err(failure) => {
                unreachable |= failure.is_unreachable();
                problem = Some(problem_of(failure));
            }
        }
    }
    while problem.is_none() {
        let req = {
            let engine = rt.engine.lock().await;
            engine.pull_request(engine.state().last_synced_at.is_none().then_some(FIRST_SYNC_PAGE))
        };
        // A page of a pull: the request, reading the answer, storing it and showing it.
        let measure = Measure::start("fc:pull-page");
        match post_json::<_, PullResponse>("/api/sync/pull", &req).await {
            Ok(resp) => {
                let mut engine = rt.engine.lock().await;
                let before = records_shape(&engine);
                if let Err(e) = engine.on_pull_response(&resp, Utc::now()).await {
                    problem = Some(SyncProblem::Storage(e.to_string()));
                    break;
                }
                records_changed |= resp.reset || !resp.patch.is_empty() || records_shape(&engine) != before;
                // The records on screen are rebuilt once the pull is complete, not after every
                // page (each rebuild copies every record); most pulls bring nothing new, and
                // then only "last synced" changes.
                if records_changed && !resp.has_more {
                    rt.publish(&engine, |_| {});
                    records_changed = false;
                } else {
                    rt.publish_status(&engine, |_| {});
                }
                drop(measure);
                if !resp.has_more {
                    break;
                }
            }
            Err(failure) => {
                unreachable |= failure.is_unreachable();
                problem = Some(problem_of(failure));
            }
        }
    }
    // Finished work that has left the history window leaves the device (at most hourly: it
    // reads every record).
    if problem.is_none() && eviction_due() {
        let days = crate::ui::current_user()
            .map(|me| me.history_days)
            .unwrap_or(crate::domain::settings::DEFAULT_DEVICE_HISTORY_DAYS);
        let cutoff = Utc::now() - chrono::Duration::days(days.into());
        let kept = super::kept::pinned();
        match rt.engine.lock().await.evict_outside(&kept, cutoff).await {
            Ok(0) => {}
            Ok(_) => records_changed = true,
            Err(e) => problem = Some(SyncProblem::Storage(e.to_string())),
        }
    }
    // A write saved while this run was on the network has not been pushed yet: go again.
    let engine = rt.engine.lock().await;
    let again = problem.is_none() && engine.push_request(1).is_some();
    let finish = |s: &mut SyncStatus| {
        s.syncing = false;
        s.problem = problem.or(upload_problem);
    };
    if records_changed {
        rt.publish(&engine, finish);
    } else {
        rt.publish_status(&engine, finish);
    }
    drop(engine);
    drop(running);
    rt.announce(); // other tabs show what this pull brought
    if again {
        kick();
    }
    if unreachable {
        Run::Unreachable
    } else {
        Run::Finished
    }
}
