//! The key index of a `.properties` file: key -> the item that wins.

use std::hash::{BuildHasher, RandomState};

use super::parser::{Item, ItemKind};

/// Open addressing (linear probing, at most two thirds full) over item
/// indices, so that keys are not stored twice. Hashed with SipHash-1-3 (the
/// function of std's `RandomState`) under a random 128-bit key drawn from
/// `RandomState`: keys come from files an attacker may write, and an
/// unkeyed hash lets crafted keys collide and make parsing quadratic.
#[derive(Clone)]
pub(crate) struct KeyIndex {
    key: (u64, u64),
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

impl Default for KeyIndex {
    fn default() -> Self {
        // A fresh RandomState is keyed from the process's random keys; its
        // hashes of two constants are a secret, random SipHash key.
        let state = RandomState::new();
        Self {
            key: (state.hash_one(0u64), state.hash_one(1u64)),
            slots: Vec::new(),
            len: 0,
        }
    }
}

/// One SipHash round.
fn sip_round(v: &mut [u64; 4]) {
    v[0] = v[0].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(13) ^ v[0];
    v[0] = v[0].rotate_left(32);
    v[2] = v[2].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(16) ^ v[2];
    v[0] = v[0].wrapping_add(v[3]);
    v[3] = v[3].rotate_left(21) ^ v[0];
    v[2] = v[2].wrapping_add(v[1]);
    v[1] = v[1].rotate_left(17) ^ v[2];
    v[2] = v[2].rotate_left(32);
}

/// SipHash-1-3 of `bytes` under `key`: what std's `RandomState` hashers
/// compute for one `write` of `bytes`, without their buffering of
/// partial words (a key is hashed in one piece).
fn sip13((k0, k1): (u64, u64), bytes: &[u8]) -> u64 {
    let mut v = [
        k0 ^ 0x736f_6d65_7073_6575,
        k1 ^ 0x646f_7261_6e64_6f6d,
        k0 ^ 0x6c79_6765_6e65_7261,
        k1 ^ 0x7465_6462_7974_6573,
    ];
    let mut words = bytes.chunks_exact(8);
    for word in &mut words {
        let m = u64::from_le_bytes(word.try_into().unwrap_or([0; 8]));
        v[3] ^= m;
        sip_round(&mut v);
        v[0] ^= m;
    }
    // The length's low byte on top of the last 0..=7 bytes.
    let mut last = (bytes.len() as u64) << 56;
    for (i, &b) in words.remainder().iter().enumerate() {
        last |= u64::from(b) << (8 * i);
    }
    v[3] ^= last;
    sip_round(&mut v);
    v[0] ^= last;
    v[2] ^= 0xff;
    sip_round(&mut v);
    sip_round(&mut v);
    sip_round(&mut v);
    v[0] ^ v[1] ^ v[2] ^ v[3]
}

impl KeyIndex {
    fn hash(&self, key: &str) -> u64 {
        sip13(self.key, key.as_bytes())
    }

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
            let hash = self.hash(key);
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
        let hash = self.hash(key);
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

#[cfg(test)]
mod tests {
    use std::hash::Hasher;

    use super::sip13;

    #[test]
    fn sip13_is_std_siphash_1_3() {
        // std's DefaultHasher::new() is SipHash-1-3 keyed with zeros.
        let bytes: Vec<u8> = (0u8..=70).map(|b| b.wrapping_mul(37)).collect();
        for len in 0..bytes.len() {
            let mut std = std::hash::DefaultHasher::new();
            std.write(&bytes[..len]);
            assert_eq!(sip13((0, 0), &bytes[..len]), std.finish(), "length {len}");
        }
    }
}
