//! Fieldclose: what the server and the browser both compile.
//!
//! - [`domain`]: types that parse and validate (the same rules run on both sides).
//! - [`api`]: the JSON shapes of the HTTP API.
//! - [`ui`]: the Leptos pages, one module per role and screen.
//!
//! Compile with exactly one of the `ssr` or `hydrate` features: the server renders with one, the
//! browser hydrates with the other, and the two select different code for the same items.

pub mod api;
pub mod domain;
pub mod sync;
pub mod ui;

pub use ui::{shell, App};
