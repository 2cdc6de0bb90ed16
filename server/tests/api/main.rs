//! Integration tests: the real server on a random port against a fresh Postgres database per
//! test. One binary (faster to link), one module per endpoint group.

mod analytics;
mod audit;
mod auth;
mod blobs;
mod booking;
mod chaos;
mod checklist;
mod company;
mod demo;
mod device;
mod financing;
mod first_screen;
mod followups;
mod health;
mod helpers;
mod history_window;
mod http_surface;
mod intake;
mod invites;
mod many_writers;
mod marketing;
mod notifications;
mod option_templates;
mod pages;
mod passwords;
mod price_book;
mod proposals;
mod signup;
mod sync_events;
mod sync_fixtures;
mod sync_invariants;
mod sync_requests;
mod sync_simulation;
mod users;
