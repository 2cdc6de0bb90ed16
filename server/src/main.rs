//! `server` — serve Fieldclose (the default), or `server seed-demo` / `server migrate`.

use server::{config::Config, db, demo, startup::Application, telemetry};
use std::process::ExitCode;

/// mimalloc instead of glibc's malloc: a push allocates and frees many small values (JSON,
/// statement arguments) across worker threads, and glibc's malloc was about a fifth of the
/// server's CPU under the ingest bench.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str = "usage: server [serve | seed-demo | migrate]
  serve      migrate the database, then serve (the default)
  seed-demo  migrate, create the demo company if missing, print its logins
  migrate    create the database if missing and apply migrations";

#[tokio::main]
async fn main() -> ExitCode {
    let command = std::env::args().nth(1).unwrap_or_else(|| "serve".into());
    let config = match Config::from_env() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("fieldclose: configuration error: {e}");
            return ExitCode::from(2);
        }
    };
    telemetry::init(&config.log_filter);

    let result = match command.as_str() {
        "serve" => serve(config).await,
        "seed-demo" => seed_demo(&config).await,
        "migrate" => {
            db::connect_and_migrate(&config.database_url).await.map(|_| ()).map_err(|e| e.to_string())
        }
        "-h" | "--help" | "help" => {
            println!("{USAGE}");
            Ok(())
        }
        other => Err(format!("unknown command {other:?}\n{USAGE}")),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("fieldclose: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(config: Config) -> Result<(), String> {
    let app = Application::build(config).await.map_err(|e| e.to_string())?;
    tracing::info!("listening on http://{}", app.local_addr());
    app.run_until_stopped().await.map_err(|e| format!("server error: {e}"))
}

async fn seed_demo(config: &Config) -> Result<(), String> {
    let pool = db::connect_and_migrate(&config.database_url).await.map_err(|e| e.to_string())?;
    // It may run beside serving processes: versions in flight are in Postgres (`sync::clock`).
    let clock = server::sync::clock::VersionClock::start(pool.clone()).await.map_err(|e| e.to_string())?;
    let demo = demo::seed(&pool, &clock).await.map_err(|e| e.to_string())?;
    let verb = if demo.created { "created" } else { "already present" };
    println!("Demo company {verb}.\n{}", demo::logins_banner().trim_end());
    Ok(())
}
