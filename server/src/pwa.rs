//! The service worker, stamped with the build it belongs to.
//!
//! `public/sw.js` is a template. At start-up the server lists the bundle (`/pkg/*`) and the
//! static shell files, hashes their contents into a build id, and fills both into the template.
//! A new deploy therefore yields a new worker byte-for-byte, the browser installs it beside the
//! old one, and HTML, js and wasm of one build are always cached and served together.

use axum::{
    extract::State,
    http::{header, StatusCode},
    response::{IntoResponse, Response},
};
use sha2::{Digest, Sha256};
use std::path::Path;

use crate::state::AppState;

/// Static files of the app shell, besides the bundle, that must be there offline.
pub const SHELL_FILES: &[&str] = &[
    "/pwa.js",
    "/manifest.webmanifest",
    "/offline.html",
    "/favicon.ico",
    "/icons/icon-192.png",
    "/icons/icon-512.png",
];

pub struct ServiceWorker {
    /// The ready script, or `None` when the site was not built (API-only test servers).
    script: Option<String>,
    pub build_id: String,
}

impl ServiceWorker {
    pub fn load(site_root: &str, pkg_dir: &str) -> Self {
        let root = Path::new(site_root);
        let Ok(template) = std::fs::read_to_string(root.join("sw.js")) else {
            return Self { script: None, build_id: "unbuilt".into() };
        };
        let mut urls: Vec<String> = std::fs::read_dir(root.join(pkg_dir))
            .into_iter()
            .flatten()
            .flatten()
            .filter(|e| e.path().is_file())
            .map(|e| format!("/{pkg_dir}/{}", e.file_name().to_string_lossy()))
            .collect();
        urls.extend(SHELL_FILES.iter().map(|s| s.to_string()));
        urls.sort();

        let mut hasher = Sha256::new();
        hasher.update(template.as_bytes());
        for url in &urls {
            hasher.update(url.as_bytes());
            if let Ok(bytes) = std::fs::read(root.join(url.trim_start_matches('/'))) {
                hasher.update(&bytes);
            }
        }
        let build_id: String = hasher.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect();
        let precache = serde_json::to_string(&urls).unwrap_or_else(|_| "[]".into());
        let script = template.replace("__BUILD_ID__", &build_id).replace("__PRECACHE__", &precache);
        Self { script: Some(script), build_id }
    }
}

/// `GET /sw.js`
pub async fn service_worker(State(state): State<AppState>) -> Response {
    match &state.service_worker.script {
        Some(script) => (
            [
                (header::CONTENT_TYPE, "text/javascript; charset=utf-8"),
                // The browser must always ask: this file is how it learns of a new build.
                (header::CACHE_CONTROL, "no-cache"),
            ],
            script.clone(),
        )
            .into_response(),
        None => {
            (StatusCode::NOT_FOUND, "the site has not been built (run `cargo leptos build`)").into_response()
        }
    }
}
