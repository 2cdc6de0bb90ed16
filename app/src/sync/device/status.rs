//! What the device's sync looks like to the screens: one [`SyncSnapshot`], read through a signal.

use crate::sync::{engine::Rejected, protocol::Entity};
use chrono::{DateTime, Utc};
use serde_json::Value;
use std::{collections::BTreeMap, sync::Arc};
use uuid::Uuid;

/// The state of sync, without the records: cheap to compare, so a sync run that changed
/// nothing a person can see makes no page recompute.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncStatus {
    /// False until the device's store has been opened (render nothing stale before that).
    pub loaded: bool,
    pub online: bool,
    pub syncing: bool,
    /// Writes saved on this device that the server has not acknowledged yet (the outbox).
    pub pending: usize,
    /// Writes the server refused, each kept with its reason until the person deals with it.
    pub rejected: Vec<Rejected>,
    pub last_synced_at: Option<DateTime<Utc>>,
    /// Why the last sync did not finish, or what it is waiting for.
    pub problem: Option<SyncProblem>,
    /// Photos and signatures stored here and not yet uploaded.
    pub uploads_pending: usize,
    /// Set when the device is running out of room for offline work.
    pub storage_warning: Option<String>,
    /// False in a second tab of the app: another tab does the syncing.
    pub syncing_tab: bool,
    /// The records shown include the rows the page came with (`first_screen`): the device's own
    /// copy is still arriving, so what is computed from all of them (a close rate) is not yet.
    pub first_screen: bool,
}

/// How the device reaches the server, as a person needs to tell it: no network at all, a
/// network that does not get to Fieldclose (a captive Wi-Fi, the server down), or fine.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Connection {
    Offline,
    Unreachable,
    Online,
}

impl Connection {
    /// `network`: the browser's own idea (`navigator.onLine`); the last sync says the rest.
    pub fn of(network: bool, problem: Option<&SyncProblem>) -> Connection {
        match (network, problem) {
            (false, _) => Connection::Offline,
            (true, Some(SyncProblem::Unreachable)) => Connection::Unreachable,
            (true, _) => Connection::Online,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Connection::Offline => "Offline",
            Connection::Unreachable => "Can't reach Fieldclose",
            Connection::Online => "Online",
        }
    }

    /// What it means for the person's work, on the Sync page.
    pub fn explained(self) -> &'static str {
        match self {
            Connection::Offline => "offline — changes are kept on this device",
            Connection::Unreachable => {
                "this device has a network but cannot reach Fieldclose (a Wi-Fi that wants a sign-in, or the server is down) — changes are kept on this device"
            }
            Connection::Online => "online",
        }
    }
}

/// Why sync is not (fully) done, as the sync state shows it.
#[derive(Clone, Debug, PartialEq)]
pub enum SyncProblem {
    /// No answer from the server, or a 5xx: writes and photos wait here and the loop retries.
    Unreachable,
    /// The server refused a request, for a reason a person can read.
    Refused(String),
    /// A photo or signature was refused (the writes still went).
    UploadRefused(String),
    /// The device's storage failed (it would not open, or a step could not be saved).
    Storage(String),
    /// The device's mutation ids went back in time; it continues under a new client id.
    ClientIdReused,
}

impl SyncProblem {
    pub fn message(&self) -> String {
        match self {
            SyncProblem::Unreachable => {
                "No connection to the server; your changes and photos are safe here and will be sent.".into()
            }
            SyncProblem::Refused(m) => m.clone(),
            SyncProblem::UploadRefused(m) => format!("A photo could not be uploaded: {m}"),
            SyncProblem::Storage(m) => format!("This device could not store work offline: {m}"),
            SyncProblem::ClientIdReused => {
                "This device's sync numbering went back in time; it continues under a new id.".into()
            }
        }
    }
}

#[derive(Clone, Debug, Default, PartialEq)]
pub struct SyncSnapshot {
    pub status: SyncStatus,
    /// Records with pending writes, for the "not yet synced" dots.
    pub pending_targets: Vec<(Entity, Uuid)>,
    /// Every record on the device as the server last sent it, with the pending writes laid over.
    pub view: Arc<BTreeMap<(Entity, Uuid), Value>>,
}

impl SyncSnapshot {
    pub fn records(&self, entity: Entity) -> impl Iterator<Item = (&Uuid, &Value)> {
        // The view is ordered by entity first: one entity's records are one range of it.
        self.view.range((entity, Uuid::nil())..=(entity, Uuid::max())).map(|((_, id), v)| (id, v))
    }

    pub fn get(&self, entity: Entity, id: Uuid) -> Option<&Value> {
        self.view.get(&(entity, id))
    }

    pub fn is_pending(&self, entity: Entity, id: Uuid) -> bool {
        self.pending_targets.contains(&(entity, id))
    }

    /// The revision of a record as the server last sent it (0 for one made on this device):
    /// the `base_version` of an `update_fields`, so a concurrent edit is detected.
    pub fn revision(&self, entity: Entity, id: Uuid) -> i64 {
        self.get(entity, id).and_then(|r| r.get("revision")).and_then(Value::as_i64).unwrap_or(0)
    }
}

/// How full the device's storage is, in words, when it is worth a warning: below 50 MB free or
/// over 90% used, a technician is a few hundred photos from losing the ability to save.
pub fn storage_warning(usage: f64, quota: f64) -> Option<String> {
    if quota <= 0.0 {
        return None;
    }
    let free_mb = (quota - usage) / 1_000_000.0;
    // Whole megabytes, rounded here: formatting the float with `{:.0}` would need core's exact
    // float formatting in the first load for this one message.
    let shown = free_mb.max(0.0).round() as u64;
    (free_mb < 50.0 || usage / quota > 0.9).then(|| {
        format!(
            "This device is almost out of room for offline work ({shown} MB left). Sync, then free up space."
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn storage_is_low_below_50_mb_free_or_over_90_percent_used() {
        assert_eq!(storage_warning(0.0, 0.0), None, "no quota reported: no warning");
        assert_eq!(storage_warning(100e6, 1000e6), None);
        let nearly_full = storage_warning(980.4e6, 1000e6).unwrap();
        assert!(nearly_full.contains("(20 MB left)"), "{nearly_full}");
        let over_90 = storage_warning(9.5e9, 10e9).unwrap();
        assert!(over_90.contains("(500 MB left)"), "{over_90}");
    }

    #[test]
    fn a_refusal_is_shown_in_the_servers_words() {
        assert_eq!(SyncProblem::Refused("Sign in again.".into()).message(), "Sign in again.");
        assert!(SyncProblem::UploadRefused("too big".into()).message().ends_with("too big"));
    }

    #[test]
    fn a_network_that_does_not_reach_the_server_is_not_called_online() {
        assert_eq!(Connection::of(false, None), Connection::Offline);
        assert_eq!(Connection::of(false, Some(&SyncProblem::Unreachable)), Connection::Offline);
        assert_eq!(Connection::of(true, Some(&SyncProblem::Unreachable)).label(), "Can't reach Fieldclose");
        assert_eq!(Connection::of(true, Some(&SyncProblem::Refused("no".into()))), Connection::Online);
        assert_eq!(Connection::of(true, None), Connection::Online);
    }
}
