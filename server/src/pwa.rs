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
            .map(|e| e.file_name().to_string_lossy().into_owned())
            // A file's precompressed twins (`--precompress`) are what the server sends for the
            // file itself when the browser accepts them; they are not separate URLs to cache.
            .filter(|name| !name.ends_with(".br") && !name.ends_with(".gz"))
            .map(|name| format!("/{pkg_dir}/{name}"))
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
        let build_id: String = hex::encode(&hasher.finalize()[..6]);
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precaches_each_bundle_file_once_not_its_compressed_twins() {
        let root = std::env::temp_dir().join(format!("fieldclose-sw-{}", std::process::id()));
        let pkg = root.join("pkg");
        std::fs::create_dir_all(&pkg).unwrap();
        std::fs::write(root.join("sw.js"), "const BUILD = '__BUILD_ID__'; const FILES = __PRECACHE__;")
            .unwrap();
        for name in ["app.wasm", "app.wasm.br", "app.wasm.gz", "app.js", "app.js.br", "app.css"] {
            std::fs::write(pkg.join(name), name).unwrap();
        }
        let sw = ServiceWorker::load(root.to_str().unwrap(), "pkg");
        let script = sw.script.unwrap();
        std::fs::remove_dir_all(&root).unwrap();
        let start = script.find('[').unwrap();
        let urls: Vec<String> = serde_json::from_str(&script[start..script.rfind(']').unwrap() + 1]).unwrap();
        let bundle: Vec<&str> = urls.iter().map(String::as_str).filter(|u| u.starts_with("/pkg/")).collect();
        assert_eq!(bundle, ["/pkg/app.css", "/pkg/app.js", "/pkg/app.wasm"]);
        assert!(urls.iter().any(|u| u == "/offline.html"));
    }
}
