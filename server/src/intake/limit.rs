//! The intake endpoint's flood guard: a count per company key and per client address in the
//! current minute, in memory (one process writes a database at a time, docs/sync.md). A count
//! is taken before anything else is done for the request, so a flood costs no database work.

use std::{collections::HashMap, hash::Hash, sync::Mutex, time::Instant};

/// How many posts a minute one key, and one address, may make.
#[derive(Debug, Clone, Copy)]
pub struct IntakeLimits {
    pub per_key_per_minute: u32,
    pub per_ip_per_minute: u32,
}

impl Default for IntakeLimits {
    /// A busy company's site at its peak, and a person who submits a form a few times.
    fn default() -> Self {
        Self { per_key_per_minute: 600, per_ip_per_minute: 20 }
    }
}

/// Counts per minute window; the map is emptied of past windows as it grows.
pub struct Counter<K> {
    started: Instant,
    counts: Mutex<HashMap<K, (u64, u32)>>,
}

impl<K: Hash + Eq + Clone> Default for Counter<K> {
    fn default() -> Self {
        Self { started: Instant::now(), counts: Mutex::default() }
    }
}

impl<K: Hash + Eq + Clone> Counter<K> {
    /// Counts one for `key`; `Err(seconds to wait)` once it is over `limit` this minute.
    pub fn take(&self, key: &K, limit: u32) -> Result<(), u64> {
        let elapsed = self.started.elapsed().as_secs();
        let minute = elapsed / 60;
        let mut counts = self.counts.lock().unwrap_or_else(|e| e.into_inner());
        if counts.len() > 50_000 {
            counts.retain(|_, (m, _)| *m == minute);
        }
        let entry = counts.entry(key.clone()).or_insert((minute, 0));
        if entry.0 != minute {
            *entry = (minute, 0);
        }
        if entry.1 >= limit {
            return Err(60 - elapsed % 60);
        }
        entry.1 += 1;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_key_over_its_limit_waits_for_the_next_minute_and_others_do_not() {
        let counter = Counter::<&str>::default();
        for _ in 0..3 {
            counter.take(&"a", 3).unwrap();
        }
        let wait = counter.take(&"a", 3).unwrap_err();
        assert!((1..=60).contains(&wait));
        counter.take(&"b", 3).unwrap();
    }
}
