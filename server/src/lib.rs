//! The Fieldclose server: configuration, telemetry, auth, the JSON API, SSR of the Leptos app,
//! the service worker and the demo company.
// Leptos views are deeply nested types; the release build's layout queries need more depth.
#![recursion_limit = "256"]

pub mod analytics;
pub mod audit;
pub mod auth;
pub mod blobs;
pub mod caches;
pub mod catalog;
pub mod checklist;
pub mod company;
pub mod config;
pub mod db;
pub mod demo;
pub mod demo_history;
pub mod error;
pub mod financing;
pub mod first_screen;
pub mod form;
pub mod health;
pub mod intake;
pub mod invites;
pub mod maintenance;
pub mod openapi;
pub mod option_templates;
pub mod passwords;
pub mod price_book;
pub mod proposal;
pub mod push;
pub mod pwa;
pub mod reference;
pub mod security;
pub mod serve;
pub mod signup;
pub mod stale;
pub mod startup;
pub mod state;
pub mod sync;
pub mod telemetry;
pub mod users;
