//! The sync protocol, shared by the server and every client (see docs/sync.md).

pub mod device;
pub mod engine;
#[cfg(feature = "hydrate")]
pub mod idb;
pub mod mutation;
pub mod optimistic;
pub mod protocol;
pub mod window;
