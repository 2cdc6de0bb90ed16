//! Builds the application from a [`Config`] so that `main` and the tests start the very same
//! thing (tests on port 0 against a database of their own).

use crate::{
    analytics, auth, blobs, config::Config, db, first_screen, health, pwa, security, state::AppState, sync,
    users,
};
use app::{shell, App};
use axum::{extract::DefaultBodyLimit, http::StatusCode, middleware, routing::get, Router};
use leptos::config::LeptosOptions;
use leptos_axum::{generate_route_list, LeptosRoutes};
use sqlx::PgPool;
use std::{collections::HashSet, net::SocketAddr, sync::Arc};
use tokio::net::TcpListener;
use tower_http::{
    catch_panic::CatchPanicLayer,
    compression::CompressionLayer,
    request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer},
    timeout::TimeoutLayer,
    trace::TraceLayer,
};

pub fn leptos_options(config: &Config) -> LeptosOptions {
    LeptosOptions::builder()
        .output_name("fieldclose")
        .site_root(config.site_root.as_str())
        .site_pkg_dir("pkg")
        .site_addr(config.site_addr)
        .hash_files(false)
        .build()
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let leptos_options = state.leptos_options.clone();
    let routes = generate_route_list(App);

    let (api, _) = api_routes().split_for_parts();
    let api = api.fallback(|| async { crate::error::ApiError::NotFound("API route") });

    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/sw.js", get(pwa::service_worker))
        .route("/reports", get(analytics::page::reports))
        .route("/reports/close-model", get(analytics::close_model::page::page))
        .route("/reports/coaching", get(analytics::coaching_page::page))
        .route("/reports/process-map", get(analytics::process_map_page::page))
        .route("/reports/quarterly", get(analytics::quarterly::page))
        .route("/me/coaching", get(analytics::coaching_page::mine))
        .route("/p/{token}", get(crate::proposal::page))
        .nest("/api", api)
        .leptos_routes(&state, routes, {
            let options = leptos_options.clone();
            move || shell(options.clone())
        })
        .fallback(leptos_axum::file_and_error_handler::<AppState, _>(shell))
        // A panic anywhere below becomes a logged JSON 500, never a dropped connection.
        .layer(CatchPanicLayer::custom(security::panic_response))
        // Inside the session's layer: it reads who is signed in.
        .layer(middleware::from_fn_with_state(state.clone(), first_screen::middleware))
        .layer(middleware::from_fn_with_state(state.clone(), auth::session::middleware))
        // Before anything else looks at a write: one from another site is refused.
        .layer(middleware::from_fn(security::refuse_cross_site))
        // Extractors (Json, Bytes, Form) stop reading past this; the blob route allows more.
        .layer(DefaultBodyLimit::max(state.config.max_body_bytes))
        .layer(TimeoutLayer::with_status_code(StatusCode::REQUEST_TIMEOUT, state.config.request_timeout))
        // Outside the timeout, so that its 408 is JSON too.
        .layer(middleware::from_fn(security::json_errors))
        // Inside compression: it reads pages' inline scripts for the CSP before they are compressed.
        .layer(middleware::from_fn_with_state(state.clone(), security::headers))
        .layer(CompressionLayer::new())
        .layer(PropagateRequestIdLayer::new(request_id()))
        .layer(TraceLayer::new_for_http().make_span_with(crate::telemetry::request_span))
        // Outermost: the id exists before the span that logs it.
        .layer(SetRequestIdLayer::new(request_id(), MakeRequestUuid))
        .with_state(state)
}

fn request_id() -> axum::http::HeaderName {
    axum::http::HeaderName::from_static(crate::telemetry::REQUEST_ID)
}

/// Everything under `/api`: each module's routes with their OpenAPI entries
/// ([`crate::openapi::spec`] reads the document from the same routers).
pub fn api_routes() -> utoipa_axum::router::OpenApiRouter<AppState> {
    utoipa_axum::router::OpenApiRouter::new()
        .merge(auth::routes::router())
        .merge(users::router())
        .merge(crate::signup::router())
        .merge(crate::invites::router())
        .merge(crate::passwords::router())
        .merge(crate::price_book::router())
        .merge(crate::checklist::router())
        .merge(crate::company::router())
        .merge(crate::option_templates::router())
        .merge(crate::financing::router())
        .merge(crate::proposal::router())
        .merge(crate::intake::router())
        .merge(crate::push::router())
        .merge(crate::audit::router())
        .merge(sync::router())
        .merge(blobs::router())
        .merge(analytics::router())
        .merge(crate::openapi::router())
}

pub fn page_paths() -> HashSet<String> {
    generate_route_list(App).iter().map(|r| r.path().to_string()).collect()
}

pub struct Application {
    listener: TcpListener,
    router: Router,
    pub pool: PgPool,
    /// The clock its writers take versions from: anything else writing synced rows in this
    /// process (tests, the demo seed) must take them from the same one.
    pub clock: Arc<sync::clock::VersionClock>,
    shutdown: tokio::sync::watch::Sender<bool>,
    stop: Arc<Stop>,
    draining: tokio::sync::watch::Sender<bool>,
    drain: crate::config::Drain,
    limits: crate::serve::Limits,
}

/// Stops a running [`Application`]: `stop` as Ctrl-C does, `drain` as SIGTERM does (for tests
/// and embedding).
#[derive(Clone)]
pub struct StopHandle(Arc<Stop>);

#[derive(Default)]
struct Stop {
    asked: tokio::sync::Notify,
    /// Leave as on SIGTERM, with the drain's notice first.
    drain: std::sync::atomic::AtomicBool,
}

impl StopHandle {
    /// Stops as Ctrl-C does: no notice, requests in flight finish.
    pub fn stop(&self) {
        self.0.asked.notify_one();
    }

    /// Stops as SIGTERM does: `/readyz` answers 503 for the drain's notice first.
    pub fn drain(&self) {
        self.0.drain.store(true, std::sync::atomic::Ordering::SeqCst);
        self.0.asked.notify_one();
    }
}

#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error(transparent)]
    Database(#[from] db::DbSetupError),
    #[error(transparent)]
    Blobs(#[from] crate::blobs::OpenError),
    #[error(transparent)]
    Clock(#[from] sync::clock::StartError),
    #[error("cannot listen for cache announcements: {0}")]
    Caches(#[source] sqlx::Error),
    #[error("cannot load or make the Web Push key: {0}")]
    Push(#[source] sqlx::Error),
    #[error("cannot listen on {addr}: {source}")]
    Bind { addr: SocketAddr, source: std::io::Error },
}

impl Application {
    pub async fn build(config: Config) -> Result<Self, StartError> {
        let pool = db::connect_and_migrate(&config.database_url).await?;
        Self::build_with_pool(config, pool).await
    }

    pub async fn build_with_pool(config: Config, pool: PgPool) -> Result<Self, StartError> {
        let listener = TcpListener::bind(config.site_addr)
            .await
            .map_err(|source| StartError::Bind { addr: config.site_addr, source })?;
        let leptos_options = leptos_options(&config);
        let service_worker = pwa::ServiceWorker::load(&config.site_root, &leptos_options.site_pkg_dir);
        let blobs = crate::blobs::open(&config)?;
        let clock = sync::clock::VersionClock::start(pool.clone()).await?;
        let (shutdown, shutdown_rx) = tokio::sync::watch::channel(false);
        let (draining, draining_rx) = tokio::sync::watch::channel(false);
        let drain = config.drain;
        crate::maintenance::spawn(pool.clone(), shutdown_rx.clone());
        crate::stale::spawn(pool.clone(), clock.clone(), shutdown_rx.clone());
        let vapid = crate::push::vapid::VapidKey::load_or_create(&pool).await.map_err(StartError::Push)?;
        let push = crate::push::Notifier::start(pool.clone(), vapid, &config.push, shutdown_rx.clone());
        let analytics =
            Arc::new(crate::analytics::load::FactsCache::with_budget(config.analytics_memory_bytes));
        let state = AppState {
            intake_pool: db::generic_plan_pool(&pool, 8),
            pool: pool.clone(),
            config: Arc::new(config),
            leptos_options,
            page_paths: Arc::new(page_paths()),
            service_worker: Arc::new(service_worker),
            blobs,
            clock,
            push_gates: Arc::default(),
            sessions: Arc::default(),
            analytics,
            intake: Arc::default(),
            push,
            shutdown: shutdown_rx,
            draining: draining_rx,
        };
        crate::caches::listen(&pool, state.sessions.clone(), state.intake.clone())
            .await
            .map_err(StartError::Caches)?;
        crate::analytics::load::warm(state.analytics.clone(), pool.clone(), state.clock.clone());
        let clock = state.clock.clone();
        let limits = state.config.connections;
        Ok(Self {
            listener,
            router: router(state),
            pool,
            clock,
            shutdown,
            stop: Arc::default(),
            draining,
            drain,
            limits,
        })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.listener.local_addr().expect("a bound listener has an address")
    }

    pub fn stop_handle(&self) -> StopHandle {
        StopHandle(self.stop.clone())
    }

    /// Serves until SIGINT, SIGTERM or a [`StopHandle`], then lets requests in flight finish
    /// (event streams end at once, with their reconnect hint). On SIGTERM it first drains
    /// (`config::Drain`): `/readyz` answers 503 while it still serves. Other processes may serve
    /// the same database meanwhile.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let (shutdown, stop, draining, drain) = (self.shutdown, self.stop, self.draining, self.drain);
        let stopped = async move {
            let notice = tokio::select! {
                signal = shutdown_signal() => signal == Signal::Terminate,
                _ = stop.asked.notified() => {
                    tracing::info!("stop requested");
                    stop.drain.load(std::sync::atomic::Ordering::SeqCst)
                }
            };
            let _ = draining.send(true);
            if notice && !drain.notice.is_zero() {
                tracing::info!(
                    seconds = drain.notice.as_secs(),
                    "draining: /readyz answers 503, still serving"
                );
                tokio::time::sleep(drain.notice).await;
            }
            let _ = shutdown.send(true);
        };
        crate::serve::serve(self.listener, self.router, self.limits, drain.finish, stopped).await
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Signal {
    Interrupt,
    Terminate,
}

async fn shutdown_signal() -> Signal {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    let signal = tokio::select! {
        _ = ctrl_c => Signal::Interrupt,
        _ = terminate => Signal::Terminate,
    };
    tracing::info!(?signal, "shutting down");
    signal
}
