//! Logging: `tracing` to stdout, filtered by `RUST_LOG` (checked in [`crate::config`]).

use tracing_subscriber::{fmt, prelude::*, EnvFilter};

pub fn init(filter: &str) {
    let filter = EnvFilter::try_new(filter).unwrap_or_else(|_| EnvFilter::new("info"));
    // `try_init`: tests start many servers in one process and only the first may install it.
    let _ = tracing_subscriber::registry().with(filter).with(fmt::layer().with_target(true)).try_init();
}
