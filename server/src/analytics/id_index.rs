//! Where a lead's, consultation's or time entry's fact sits in its company's fact vector, by the
//! record's id. A sorted array of (id, position) with a small hash map for the ids added since
//! the array was last merged: 20 bytes an id, where a `HashMap<Uuid, usize>` takes 24 at its
//! load factor and doubles at each power of two (at a million ids, 52 MB against 20). Facts are
//! looked up by id only when a refresh re-folds a lead, a few at a time, so a binary search is
//! as good as a hash here; what matters is what a million ids cost the analytics memory budget.

use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Default, Clone)]
pub struct IdIndex {
    /// Sorted by id; no id twice, and none that is also in `recent`.
    sorted: Vec<(Uuid, u32)>,
    recent: HashMap<Uuid, u32>,
}

/// `recent` is merged into `sorted` once it holds this many ids, or an eighth of `sorted` if
/// that is more: a full fold merges a few dozen times, each merge linear.
const MERGE_AT: usize = 4096;

impl IdIndex {
    pub fn get(&self, id: &Uuid) -> Option<usize> {
        if let Some(&at) = self.recent.get(id) {
            return Some(at as usize);
        }
        self.sorted.binary_search_by(|(k, _)| k.cmp(id)).ok().map(|i| self.sorted[i].1 as usize)
    }

    /// Adds an id not yet in the index (the caller looked it up first).
    pub fn insert(&mut self, id: Uuid, at: usize) {
        debug_assert!(self.get(&id).is_none(), "{id} is already indexed");
        let at = u32::try_from(at).expect("fewer than 4 billion facts of one kind");
        self.recent.insert(id, at);
        if self.recent.len() >= MERGE_AT.max(self.sorted.len() / 8) {
            self.merge();
        }
    }

    pub fn len(&self) -> usize {
        self.sorted.len() + self.recent.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Moves the recent ids into the sorted array (one linear merge, into an array of exactly
    /// the size needed).
    pub fn merge(&mut self) {
        if self.recent.is_empty() {
            return;
        }
        let mut recent: Vec<(Uuid, u32)> = self.recent.drain().collect();
        recent.sort_unstable_by_key(|&(id, _)| id);
        let mut merged = Vec::with_capacity(self.sorted.len() + recent.len());
        let (mut a, mut b) = (self.sorted.iter().peekable(), recent.into_iter().peekable());
        loop {
            let next = match (a.peek(), b.peek()) {
                (Some(x), Some(y)) if x.0 < y.0 => *a.next().expect("peeked"),
                (Some(_), Some(_)) | (None, Some(_)) => b.next().expect("peeked"),
                (Some(_), None) => *a.next().expect("peeked"),
                (None, None) => break,
            };
            merged.push(next);
        }
        self.sorted = merged;
        self.recent = HashMap::new();
    }

    /// The ids by position: `ids[p]` is the id whose fact is at `p` (`len` positions, all used).
    pub fn by_position(&self, len: usize) -> Vec<Uuid> {
        let mut ids = vec![Uuid::nil(); len];
        for (id, at) in self.sorted.iter().copied().chain(self.recent.iter().map(|(k, v)| (*k, *v))) {
            ids[at as usize] = id;
        }
        ids
    }

    /// The index of facts whose ids are `ids`, in position order.
    pub fn from_positions(ids: &[Uuid]) -> Self {
        let mut sorted: Vec<(Uuid, u32)> = ids
            .iter()
            .enumerate()
            .map(|(at, id)| (*id, u32::try_from(at).expect("fewer than 4 billion facts of one kind")))
            .collect();
        sorted.sort_unstable_by_key(|&(id, _)| id);
        Self { sorted, recent: HashMap::new() }
    }

    /// About how many bytes the index holds (see `CompanyFacts::approx_bytes`).
    pub fn approx_bytes(&self) -> usize {
        use std::mem::size_of;
        self.sorted.capacity() * size_of::<(Uuid, u32)>()
            + self.recent.capacity() * (size_of::<(Uuid, u32)>() + 1) * 8 / 7
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_id_is_found_at_its_position_across_merges() {
        let mut index = IdIndex::default();
        let ids: Vec<Uuid> = (0..20_000).map(|_| Uuid::new_v4()).collect();
        for (at, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), None);
            index.insert(*id, at);
        }
        assert_eq!(index.len(), ids.len());
        for (at, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(at), "id {at}");
        }
        index.merge();
        assert!(index.recent.is_empty());
        assert!(index.sorted.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no id twice");
        assert_eq!(index.by_position(ids.len()), ids);
        assert_eq!(index.get(&Uuid::new_v4()), None);
    }

    #[test]
    fn an_index_rebuilt_from_positions_answers_the_same() {
        let ids: Vec<Uuid> = (0..5000).map(|_| Uuid::new_v4()).collect();
        let index = IdIndex::from_positions(&ids);
        for (at, id) in ids.iter().enumerate() {
            assert_eq!(index.get(id), Some(at));
        }
        assert_eq!(index.by_position(ids.len()), ids);
    }

    #[test]
    fn a_million_ids_cost_about_20_bytes_each() {
        let ids: Vec<Uuid> = (0..1_000_000u128).map(Uuid::from_u128).collect();
        let index = IdIndex::from_positions(&ids);
        assert_eq!(index.approx_bytes(), 20_000_000);
    }
}
