//! The key index of a `.properties` file: key -> the item that wins.

use std::hash::{BuildHasher, RandomState};

use super::parser::{Item, ItemKind};

/// Open addressing (linear probing, at most two thirds full) over item
/// indices, so that keys are not stored twice. Hashed with std's
/// `RandomState` (SipHash with a per-process random key): keys come from
/// files an attacker may write, and an unkeyed hash lets crafted keys
/// collide and make parsing quadratic.
#[derive(Clone, Default)]
pub(crate) struct KeyIndex {
    hasher: RandomState,
    /// (hash, item index + 1); 0 marks an empty slot. The length is zero or
    /// a power of two.
    slots: Vec<(u64, usize)>,
    len: usize,
}

fn key_of(items: &[Item], i: usize) -> Option<&str> {
    match &items.get(i)?.kind {
        ItemKind::Entry { property, .. } => Some(property.key()),
        _ => None,
    }
}

impl KeyIndex {
    /// How many distinct keys.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Rebuilds the index over `items`: for a key that is repeated, the
    /// last entry wins (as in Java). Returns whether some key is repeated.
    pub(crate) fn rebuild(&mut self, items: &[Item]) -> bool {
        let entries = items
            .iter()
            .filter(|i| matches!(i.kind, ItemKind::Entry { .. }))
            .count();
        let wanted = entries.saturating_add(entries / 2).max(4);
        let size = wanted.checked_next_power_of_two().unwrap_or(wanted);
        self.slots.clear();
        self.slots.resize(size, (0, 0));
        self.len = 0;
        let mask = size - 1;
        for (i, item) in items.iter().enumerate() {
            let ItemKind::Entry { property, .. } = &item.kind else {
                continue;
            };
            let key = property.key();
            let hash = self.hasher.hash_one(key);
            let mut s = hash as usize & mask;
            while let Some(slot) = self.slots.get_mut(s) {
                if slot.1 == 0 {
                    *slot = (hash, i + 1);
                    self.len += 1;
                    break;
                }
                if slot.0 == hash && key_of(items, slot.1 - 1) == Some(key) {
                    slot.1 = i + 1;
                    break;
                }
                s = (s + 1) & mask;
            }
        }
        entries > self.len
    }

    /// The index in `items` of the entry that wins for `key`.
    pub(crate) fn get(&self, items: &[Item], key: &str) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let hash = self.hasher.hash_one(key);
        let mut s = hash as usize & mask;
        // At most two thirds full: an empty slot ends every probe.
        while let Some(&(h, i)) = self.slots.get(s) {
            if i == 0 {
                return None;
            }
            if h == hash && key_of(items, i - 1) == Some(key) {
                return Some(i - 1);
            }
            s = (s + 1) & mask;
        }
        None
    }
}
