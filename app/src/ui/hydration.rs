//! The script that hydrates a server-rendered page, in place of Leptos's `HydrationScripts`.
//!
//! Leptos's own lists the bundle (and, with `--split`, every chunk the page's lazy route needs)
//! as `<link rel="preload">` in the head, so those downloads start while the HTML is parsed and
//! share one bar of signal with the page's first paint. Ours asks for nothing until the browser
//! is first idle after that paint; then the bundle, and the page's chunks as the router reaches
//! them, download with the whole link to themselves. On a link that is full either way the
//! code arrives about when it did (bandwidth, not latency, bounds it); the screen the server
//! rendered, with its rows (ADR 0058), paints first. (ADR 0068; docs/perf-log.md.)

use leptos::prelude::*;

/// The `<script>` that imports the bundle and hydrates the page once the browser is first idle.
#[component]
pub fn HydrationScript(options: LeptosOptions) -> impl IntoView {
    let pkg = options.site_pkg_dir.to_string();
    let name = options.output_name.to_string();
    // `timeout`: a page that is never idle (a busy phone) still hydrates within 2 s.
    let script = format!(
        "(function(){{const go=()=>import('/{pkg}/{name}.js').then(m=>m.default({{module_or_path:'/{pkg}/{name}.wasm'}}).then(()=>m.hydrate()));\
         if('requestIdleCallback' in window)requestIdleCallback(go,{{timeout:2000}});else setTimeout(go,0);}})()"
    );
    view! { <script type="module">{script}</script> }
}
