//! Configuration from the environment, each value checked once at start-up.
//!
//! A wrong value stops the server with one line naming the variable, what it holds and what
//! would be right — never a panic deep inside a handler later.

use std::{net::SocketAddr, time::Duration};

pub const DEFAULT_DATABASE_URL: &str = "postgres://postgres@127.0.0.1:5432/fieldclose";
pub const DEFAULT_SITE_ADDR: &str = "127.0.0.1:3000";
pub const DEFAULT_SITE_ROOT: &str = "target/site";
pub const DEFAULT_BLOB_DIR: &str = "target/blobs";
pub const DEFAULT_LOG: &str = "info,server=debug,tower_http=info,sqlx=warn";
/// Whom push services may contact about this server's notices; set your own in production.
pub const DEFAULT_PUSH_CONTACT: &str = "mailto:push@fieldclose.app";

#[derive(Debug, Clone)]
pub struct Config {
    pub database_url: String,
    pub site_addr: SocketAddr,
    /// Where cargo-leptos put the wasm/js/css bundle and the copied `public/` files.
    pub site_root: String,
    pub log_filter: String,
    /// Mark the session cookie `Secure`. Off by default so that http://127.0.0.1 works; turn on
    /// behind TLS.
    pub cookie_secure: bool,
    pub session_ttl: Duration,
    /// The absolute lifetime of a session, however much it is used.
    pub session_max_age: Duration,
    pub login_limits: LoginLimits,
    pub request_timeout: Duration,
    /// How long a connection may take to send a request's headers (also how long an idle
    /// keep-alive connection is kept), and how many connections may be open (see `serve`).
    pub connections: crate::serve::Limits,
    pub max_body_bytes: usize,
    /// Where photo and signature bytes are kept when no bucket is set (a local folder; created if
    /// missing). One machine only.
    pub blob_dir: String,
    /// FIELDCLOSE_BLOB_S3_BUCKET: keep the bytes in this S3 (or S3-compatible) bucket instead,
    /// so that every process on every machine reads the same ones.
    pub blob_s3: Option<S3Bucket>,
    /// Photo and signature bytes one company may store (507 beyond).
    pub blob_quota_bytes: u64,
    /// Proxies whose `X-Forwarded-For` names the client (see `auth::client_ip`); none by default.
    pub trusted_proxies: Vec<crate::auth::client_ip::IpRange>,
    /// The website lead form's posts a minute per company and per client address
    /// (FIELDCLOSE_INTAKE_PER_KEY, FIELDCLOSE_INTAKE_PER_IP).
    pub intake_limits: crate::intake::limit::IntakeLimits,
    pub push: PushConfig,
    pub drain: Drain,
    /// FIELDCLOSE_ANALYTICS_MEMORY_MB (1024): about how much memory each process keeps
    /// companies' analytics facts in (`analytics::load::FactsCache`); past it the least recently
    /// used are forgotten.
    pub analytics_memory_bytes: usize,
}

/// An S3 bucket for blobs. The endpoint, region and credentials come from the standard `AWS_*`
/// variables (`AWS_ENDPOINT`, `AWS_REGION`, `AWS_ACCESS_KEY_ID`, `AWS_SECRET_ACCESS_KEY`,
/// `AWS_ALLOW_HTTP` for a local server), read by `object_store`, then from `options`.
#[derive(Debug, Clone, PartialEq)]
pub struct S3Bucket {
    pub name: String,
    /// `object_store` S3 settings by name (`endpoint`, `access_key_id`, …), set in code (tests).
    pub options: Vec<(String, String)>,
}

/// How a process leaves on SIGTERM (a rolling deploy): `/readyz` answers 503 for `notice`
/// while it still serves, so the load balancer stops sending it new requests; then it stops
/// accepting and gives the requests in flight up to `finish` to complete. SIGINT (Ctrl-C) and
/// `StopHandle::stop` skip the notice.
#[derive(Debug, Clone, Copy)]
pub struct Drain {
    /// FIELDCLOSE_DRAIN_NOTICE_SECONDS (5): longer than the balancer's health-check interval.
    pub notice: Duration,
    /// FIELDCLOSE_DRAIN_FINISH_SECONDS (10): a push takes well under a second.
    pub finish: Duration,
}

/// Web Push (`push`): whom push services may write to about our notices, and whether a device
/// may subscribe with a plain-http loopback endpoint (tests and local development only).
#[derive(Debug, Clone)]
pub struct PushConfig {
    /// FIELDCLOSE_PUSH_CONTACT: a `mailto:` or `https:` address (the VAPID `sub`).
    pub contact: String,
    /// FIELDCLOSE_PUSH_LOOPBACK=true; never in production.
    pub allow_loopback: bool,
}

/// How many failed sign-ins in a window are free before each further try must wait (growing
/// delays, at most the window; see `auth::rate_limit`).
#[derive(Debug, Clone, Copy)]
pub struct LoginLimits {
    pub window: Duration,
    /// Failures of one client (a known device, or an address) at one account.
    pub per_client: i64,
    /// Failures at one account from clients that never signed into it.
    pub per_account: i64,
    /// Failures from one address across accounts (unknown clients only).
    pub per_ip: i64,
}

impl Default for LoginLimits {
    fn default() -> Self {
        Self { window: Duration::from_secs(15 * 60), per_client: 5, per_account: 20, per_ip: 50 }
    }
}

#[derive(Debug, thiserror::Error)]
#[error("{var}={value:?} is not valid: {expected}")]
pub struct ConfigError {
    pub var: &'static str,
    pub value: String,
    pub expected: &'static str,
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Builds the configuration from any key lookup, so tests need not touch the process
    /// environment.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let var = |k: &str| get(k).filter(|v| !v.trim().is_empty());

        let database_url = var("DATABASE_URL").unwrap_or_else(|| DEFAULT_DATABASE_URL.into());
        if !(database_url.starts_with("postgres://") || database_url.starts_with("postgresql://")) {
            return Err(ConfigError {
                var: "DATABASE_URL",
                value: database_url,
                expected: "a postgres:// URL, e.g. postgres://postgres@127.0.0.1:5432/fieldclose",
            });
        }

        let raw_addr = var("LEPTOS_SITE_ADDR").unwrap_or_else(|| DEFAULT_SITE_ADDR.into());
        let site_addr = raw_addr.parse().map_err(|_| ConfigError {
            var: "LEPTOS_SITE_ADDR",
            value: raw_addr.clone(),
            expected: "an IP address and port, e.g. 127.0.0.1:3000",
        })?;

        let site_root = var("LEPTOS_SITE_ROOT").unwrap_or_else(|| DEFAULT_SITE_ROOT.into());

        let log_filter = var("RUST_LOG").unwrap_or_else(|| DEFAULT_LOG.into());
        if tracing_subscriber::EnvFilter::try_new(&log_filter).is_err() {
            return Err(ConfigError {
                var: "RUST_LOG",
                value: log_filter,
                expected: "a tracing filter, e.g. info or info,server=debug",
            });
        }

        let flag = |name: &'static str| match var(name).as_deref() {
            None | Some("false") | Some("0") => Ok(false),
            Some("true") | Some("1") => Ok(true),
            Some(other) => Err(ConfigError { var: name, value: other.into(), expected: "true or false" }),
        };
        let cookie_secure = flag("FIELDCLOSE_COOKIE_SECURE")?;
        let contact = var("FIELDCLOSE_PUSH_CONTACT").unwrap_or_else(|| DEFAULT_PUSH_CONTACT.into());
        if !(contact.starts_with("mailto:") || contact.starts_with("https://")) {
            return Err(ConfigError {
                var: "FIELDCLOSE_PUSH_CONTACT",
                value: contact,
                expected: "a mailto: or https: address push services can reach you at",
            });
        }
        let push = PushConfig { contact, allow_loopback: flag("FIELDCLOSE_PUSH_LOOPBACK")? };

        let trusted_proxies = match var("FIELDCLOSE_TRUSTED_PROXIES") {
            None => vec![],
            Some(raw) => raw
                .split(',')
                .map(|entry| crate::auth::client_ip::IpRange::parse(entry).ok_or(()))
                .collect::<Result<Vec<_>, ()>>()
                .map_err(|()| ConfigError {
                    var: "FIELDCLOSE_TRUSTED_PROXIES",
                    value: raw.clone(),
                    expected: "addresses or CIDR ranges separated by commas, e.g. 10.0.0.0/8,::1",
                })?,
        };

        let per_minute = |name: &'static str, default: u32| match var(name) {
            None => Ok(default),
            Some(raw) => raw.trim().parse::<u32>().ok().filter(|n| *n > 0).ok_or(ConfigError {
                var: name,
                value: raw,
                expected: "a whole number of posts a minute, e.g. 600",
            }),
        };
        let defaults = crate::intake::limit::IntakeLimits::default();
        let intake_limits = crate::intake::limit::IntakeLimits {
            per_key_per_minute: per_minute("FIELDCLOSE_INTAKE_PER_KEY", defaults.per_key_per_minute)?,
            per_ip_per_minute: per_minute("FIELDCLOSE_INTAKE_PER_IP", defaults.per_ip_per_minute)?,
        };

        let seconds = |name: &'static str, default: u64| match var(name) {
            None => Ok(Duration::from_secs(default)),
            Some(raw) => raw.trim().parse::<u64>().map(Duration::from_secs).map_err(|_| ConfigError {
                var: name,
                value: raw,
                expected: "a whole number of seconds, e.g. 5",
            }),
        };
        let drain = Drain {
            notice: seconds("FIELDCLOSE_DRAIN_NOTICE_SECONDS", 5)?,
            finish: seconds("FIELDCLOSE_DRAIN_FINISH_SECONDS", 10)?,
        };

        let analytics_memory_bytes = match var("FIELDCLOSE_ANALYTICS_MEMORY_MB") {
            None => 1024 << 20,
            Some(raw) => raw.trim().parse::<usize>().ok().filter(|mb| *mb > 0).map(|mb| mb << 20).ok_or(
                ConfigError {
                    var: "FIELDCLOSE_ANALYTICS_MEMORY_MB",
                    value: raw,
                    expected: "a whole number of megabytes, e.g. 512",
                },
            )?,
        };

        Ok(Self {
            analytics_memory_bytes,
            drain,
            database_url,
            intake_limits,
            push,
            trusted_proxies,
            blob_quota_bytes: 20_000_000_000,
            site_addr,
            site_root,
            log_filter,
            cookie_secure,
            session_ttl: Duration::from_secs(60 * 24 * 60 * 60),
            session_max_age: Duration::from_secs(90 * 24 * 60 * 60),
            login_limits: LoginLimits::default(),
            request_timeout: Duration::from_secs(30),
            connections: crate::serve::Limits {
                header_read_timeout: Duration::from_secs(10),
                max_connections: 4096,
            },
            max_body_bytes: 1024 * 1024,
            blob_dir: var("FIELDCLOSE_BLOB_DIR").unwrap_or_else(|| DEFAULT_BLOB_DIR.into()),
            blob_s3: var("FIELDCLOSE_BLOB_S3_BUCKET")
                .filter(|b| !b.is_empty())
                .map(|name| S3Bucket { name, options: vec![] }),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn cfg(pairs: &[(&str, &str)]) -> Result<Config, ConfigError> {
        let map: HashMap<String, String> =
            pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        Config::from_lookup(|k| map.get(k).cloned())
    }

    #[test]
    fn defaults_are_sane() {
        let c = cfg(&[]).unwrap();
        assert_eq!(c.database_url, DEFAULT_DATABASE_URL);
        assert_eq!(c.site_addr.to_string(), DEFAULT_SITE_ADDR);
        assert!(!c.cookie_secure);
    }

    #[test]
    fn a_wrong_value_names_the_variable() {
        let e = cfg(&[("LEPTOS_SITE_ADDR", "localhost")]).unwrap_err();
        assert_eq!(e.var, "LEPTOS_SITE_ADDR");
        assert!(e.to_string().contains("127.0.0.1:3000"));
        assert_eq!(cfg(&[("DATABASE_URL", "mysql://x")]).unwrap_err().var, "DATABASE_URL");
        assert_eq!(cfg(&[("FIELDCLOSE_COOKIE_SECURE", "yes")]).unwrap_err().var, "FIELDCLOSE_COOKIE_SECURE");
        assert_eq!(cfg(&[("RUST_LOG", "info,[[[")]).unwrap_err().var, "RUST_LOG");
        let e = cfg(&[("FIELDCLOSE_TRUSTED_PROXIES", "10.0.0.0/8,proxy")]).unwrap_err();
        assert_eq!(e.var, "FIELDCLOSE_TRUSTED_PROXIES");
        assert_eq!(
            cfg(&[("FIELDCLOSE_TRUSTED_PROXIES", "10.0.0.0/8, ::1")]).unwrap().trusted_proxies.len(),
            2
        );
    }
}
