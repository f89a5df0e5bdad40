//! The key index of a `.properties` file: key -> the item that wins.

use std::hash::{BuildHasher, RandomState};

use super::parser::{Item, ItemKind};

/// Open addressing (linear probing, at most two thirds full) over item
/// indices, so that keys are not stored twice. Keys come from files an
/// attacker may write, and an unkeyed hash lets crafted keys collide and
/// make parsing quadratic; so both hashes are keyed with secret random keys
/// drawn from `RandomState`:
/// - first a fast one (`fast_hash`, a multiply per 16 bytes), whose
///   resistance is not proven: while it is in use, no key sits more than
///   `max_probe` slots after its hash's slot, so no insertion or lookup
///   probes more than that;
/// - once an insertion would have to go further (a flood, or bad luck), the
///   index is rehashed with SipHash-1-3 (the function of std's
///   `RandomState`, under a 128-bit key) and stays so. A flood on the fast
///   hash thus costs at most `max_probe` probes per key, then one rehash.
#[derive(Clone)]
pub(crate) struct KeyIndex {
    fast_key: (u64, u64),
    /// Draws SipHash's key (its hashes of 0 and 1), only if it is needed.
    state: RandomState,
    /// SipHash's key once every hash is SipHash's (the fast hash let a
    /// probe sequence grow long).
    sip: Option<(u64, u64)>,
    /// (hash, item index + 1); 0 marks an empty slot. The length is zero or
    /// a power of two.
    slots: Vec<(u64, usize)>,
    len: usize,
}

/// The farthest a key may sit from its hash's slot under the fast hash, in
/// a table of `slots` slots (a power of two): 128 + 32 log2(slots). At two
/// thirds full, linear probing under an ideal hash puts the farthest of n
/// keys about 10 log2(n) slots away, so this leaves a wide margin (96 for
/// every size was reached by chance in large tables, about one run in
/// seven with 50,000 ordinary keys); going beyond it only costs the switch
/// to SipHash.
fn max_probe(slots: usize) -> usize {
    128 + 32 * slots.trailing_zeros() as usize
}

fn key_of(items: &[Item], i: usize) -> Option<&[u8]> {
    match &items.get(i)?.kind {
        ItemKind::Entry { property, .. } => Some(property.key().as_bytes()),
        _ => None,
    }
}

impl Default for KeyIndex {
    fn default() -> Self {
        // A fresh RandomState is keyed from the process's random keys; its
        // hashes of constants are secret and random. One such hash makes
        // the fast key (a multiply spreads it over the second half).
        let state = RandomState::new();
        let k0 = state.hash_one(2u64);
        Self {
            fast_key: (k0, folded_multiply(k0, 0x9e37_79b9_7f4a_7c15)),
            state,
            sip: None,
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

/// The 128-bit product of `a` and `b`, its halves xor-ed.
fn folded_multiply(a: u64, b: u64) -> u64 {
    let p = u128::from(a) * u128::from(b);
    (p as u64) ^ ((p >> 64) as u64)
}

/// Little-endian word of the 8 bytes at `at` (`at + 8 <= bytes.len()`).
fn word8(bytes: &[u8], at: usize) -> u64 {
    let chunk = bytes.get(at..).and_then(<[u8]>::first_chunk::<8>);
    u64::from_le_bytes(chunk.copied().unwrap_or_default())
}

/// Little-endian word of the 4 bytes at `at` (`at + 4 <= bytes.len()`).
fn word4(bytes: &[u8], at: usize) -> u64 {
    let chunk = bytes.get(at..).and_then(<[u8]>::first_chunk::<4>);
    u64::from(u32::from_le_bytes(chunk.copied().unwrap_or_default()))
}

/// Two words that, with the length, determine up to 16 bytes (overlapping
/// reads for 4 to 16).
fn two_words(bytes: &[u8]) -> (u64, u64) {
    let len = bytes.len();
    if len >= 8 {
        (word8(bytes, 0), word8(bytes, len - 8))
    } else if len >= 4 {
        (word4(bytes, 0), word4(bytes, len - 4))
    } else if let Some(&first) = bytes.first() {
        let mid = bytes.get(len / 2).copied().unwrap_or_default();
        let last = bytes.get(len - 1).copied().unwrap_or_default();
        (
            u64::from(first) | u64::from(mid) << 8 | u64::from(last) << 16,
            0,
        )
    } else {
        (0, 0)
    }
}

/// The fast keyed hash: a folded multiply per 16 bytes (the last 16
/// overlapping), the length in the first. Cheap for the short keys of
/// configuration files; `KeyIndex` does not trust it (see there).
fn fast_hash((k0, k1): (u64, u64), bytes: &[u8]) -> u64 {
    let mut h = k1 ^ bytes.len() as u64;
    let mut rest = bytes;
    while let Some((block, tail)) = rest.split_first_chunk::<16>() {
        if tail.is_empty() {
            break;
        }
        h = folded_multiply(word8(block, 0) ^ k0, word8(block, 8) ^ h);
        rest = tail;
    }
    let (a, b) = if bytes.len() > 16 {
        (
            word8(bytes, bytes.len() - 16),
            word8(bytes, bytes.len() - 8),
        )
    } else {
        two_words(bytes)
    };
    mix(folded_multiply(a ^ k0, b ^ h))
}

/// A bijection of 64-bit words in which every output bit depends on every
/// input bit (MurmurHash3's finalizer). The low bits pick the slot, and
/// the folded multiply alone leaves the low half of its product to the low
/// bytes of the key's words, which keys differing only in their last
/// characters (`key.1`, `key.2`, ...) share: with 50,000 such keys the
/// index gave up the fast hash in about one run in seven under a bound of
/// 96 probes, one in 25 with this mix (none in 300 with `max_probe`).
fn mix(mut h: u64) -> u64 {
    h ^= h >> 33;
    h = h.wrapping_mul(0xff51_afd7_ed55_8ccd);
    h ^= h >> 33;
    h = h.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    h ^ (h >> 33)
}

impl KeyIndex {
    /// An empty index with room for about `entries` keys.
    pub(crate) fn with_capacity(entries: usize) -> Self {
        Self {
            slots: empty_table(table_size(entries)),
            ..Self::default()
        }
    }

    #[inline]
    fn hash(&self, key: &[u8]) -> u64 {
        match self.sip {
            Some(sip_key) => sip13(sip_key, key),
            None => fast_hash(self.fast_key, key),
        }
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
        self.slots.clear();
        self.slots.resize(table_size(entries), (0, 0));
        self.len = 0;
        let mut repeated = false;
        for (i, item) in items.iter().enumerate() {
            if let ItemKind::Entry { property, .. } = &item.kind {
                repeated |= self.insert(property.key().as_bytes(), i, |j| key_of(items, j));
            }
        }
        repeated
    }

    /// Makes item `item`, whose key is `key`, the entry for that key; the
    /// keys of items already in are `key_at`'s. Returns whether the key was
    /// in already.
    #[inline(always)]
    pub(crate) fn insert<'k>(
        &mut self,
        key: &[u8],
        item: usize,
        key_at: impl Fn(usize) -> Option<&'k [u8]>,
    ) -> bool {
        if (self.len + 1) * 3 > self.slots.len() * 2 {
            self.grow(&key_at);
        }
        let hash = self.hash(key);
        let mask = self.slots.len() - 1;
        let mut s = hash as usize & mask;
        let mut probes = 0;
        while let Some(slot) = self.slots.get_mut(s) {
            if slot.1 == 0 {
                *slot = (hash, item + 1);
                self.len += 1;
                return false;
            }
            if slot.0 == hash && key_at(slot.1 - 1) == Some(key) {
                slot.1 = item + 1;
                return true;
            }
            s = (s + 1) & mask;
            probes += 1;
            if probes > max_probe(self.slots.len()) && self.sip.is_none() {
                // The key is not in (it would sit closer), and would sit
                // too far for the fast hash: SipHash from now on.
                return self.insert_with_sip(key, item, key_at);
            }
        }
        false
    }

    /// [`KeyIndex::insert`] once the fast hash has failed: every key is
    /// hashed again with SipHash first.
    #[cold]
    #[inline(never)]
    fn insert_with_sip<'k>(
        &mut self,
        key: &[u8],
        item: usize,
        key_at: impl Fn(usize) -> Option<&'k [u8]>,
    ) -> bool {
        let old = std::mem::take(&mut self.slots);
        self.switch_to_sip(&old, old.len(), &key_at);
        self.insert(key, item, key_at)
    }

    /// Doubles the table (or makes a first one), moving every key by its
    /// stored hash.
    #[cold]
    fn grow<'k>(&mut self, key_at: &impl Fn(usize) -> Option<&'k [u8]>) {
        let size = (self.slots.len() * 2).max(8);
        let old = std::mem::replace(&mut self.slots, empty_table(size));
        if !self.place(&old) {
            self.switch_to_sip(&old, size, key_at);
        }
    }

    /// Puts the keys of the slots `old` into a new table of `size` slots,
    /// hashed with SipHash, from now on the only hash.
    #[cold]
    fn switch_to_sip<'k>(
        &mut self,
        old: &[(u64, usize)],
        size: usize,
        key_at: &impl Fn(usize) -> Option<&'k [u8]>,
    ) {
        let sip_key = (self.state.hash_one(0u64), self.state.hash_one(1u64));
        self.sip = Some(sip_key);
        let rehashed: Vec<(u64, usize)> = old
            .iter()
            .filter(|slot| slot.1 != 0)
            .map(|&(_, i)| (sip13(sip_key, key_at(i - 1).unwrap_or_default()), i))
            .collect();
        self.slots = empty_table(size);
        let _ = self.place(&rehashed);
    }

    /// Puts the occupied ones of `slots` (distinct keys) into the empty
    /// table by their hashes; false when, with the fast hash, one would sit
    /// farther than `max_probe` from its slot (the table is then
    /// incomplete).
    fn place(&mut self, slots: &[(u64, usize)]) -> bool {
        let mask = self.slots.len() - 1;
        for &(hash, i) in slots.iter().filter(|slot| slot.1 != 0) {
            let mut s = hash as usize & mask;
            let mut probes = 0;
            while let Some(slot) = self.slots.get_mut(s) {
                if slot.1 == 0 {
                    *slot = (hash, i);
                    break;
                }
                if probes >= max_probe(self.slots.len()) && self.sip.is_none() {
                    return false;
                }
                s = (s + 1) & mask;
                probes += 1;
            }
        }
        true
    }

    /// The index in `items` of the entry that wins for `key`.
    pub(crate) fn get(&self, items: &[Item], key: &str) -> Option<usize> {
        self.find(key.as_bytes(), |i| key_of(items, i))
    }

    /// The item of the entry that wins for `key`, the keys of items being
    /// `key_at`'s.
    fn find<'k>(&self, key: &[u8], key_at: impl Fn(usize) -> Option<&'k [u8]>) -> Option<usize> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let hash = self.hash(key);
        let mut s = hash as usize & mask;
        // At most two thirds full: an empty slot ends every probe; with the
        // fast hash, so does `max_probe`.
        let limit = if self.sip.is_some() {
            usize::MAX
        } else {
            max_probe(self.slots.len())
        };
        for _ in 0..=limit {
            let &(h, i) = self.slots.get(s)?;
            if i == 0 {
                return None;
            }
            if h == hash && key_at(i - 1) == Some(key) {
                return Some(i - 1);
            }
            s = (s + 1) & mask;
        }
        None
    }
}

/// `size` empty slots. Not `vec![(0, 0); size]`: that is `calloc`, which
/// glibc serves without its per-thread cache (slow for the small tables of
/// small files).
fn empty_table(size: usize) -> Vec<(u64, usize)> {
    let mut slots = Vec::with_capacity(size);
    slots.resize(size, (0, 0));
    slots
}

/// The table size for `entries` keys: a power of two, at most two thirds
/// full.
fn table_size(entries: usize) -> usize {
    let wanted = entries.saturating_add(entries / 2).max(4);
    wanted.checked_next_power_of_two().unwrap_or(wanted)
}

#[cfg(test)]
mod tests {
    use std::hash::Hasher;

    use super::*;

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

    #[test]
    fn fast_hash_tells_apart_keys_of_every_length() {
        // Keys that differ in one byte, at every position, for lengths
        // around every read boundary; and keys that differ only in length.
        let key = (0x0123_4567_89ab_cdef, 0xfedc_ba98_7654_3210);
        let mut seen = std::collections::HashSet::new();
        for len in 0..=40 {
            let base: Vec<u8> = (0..len).map(|i| b'a' + (i % 26) as u8).collect();
            assert!(seen.insert(fast_hash(key, &base)), "length {len}");
            for at in 0..len {
                let mut other = base.clone();
                other[at] = b'#';
                assert!(
                    seen.insert(fast_hash(key, &other)),
                    "length {len}, byte {at}"
                );
            }
        }
    }

    #[test]
    fn a_flood_on_the_fast_hash_switches_to_siphash() {
        // Keys with the same first eight bytes all have one hash under a
        // fast key of zeros (the first word times zero).
        let keys: Vec<Vec<u8>> = (0..5000)
            .map(|i| format!("\0\0\0\0\0\0\0\0{i:06}").into_bytes())
            .collect();
        let key_at = |i: usize| keys.get(i).map(Vec::as_slice);
        let mut index = KeyIndex {
            fast_key: (0, 0),
            ..KeyIndex::with_capacity(16)
        };
        let first = fast_hash(index.fast_key, &keys[0]);
        assert!(keys.iter().all(|k| fast_hash((0, 0), k) == first));
        let mut switched_at = None;
        for (i, key) in keys.iter().enumerate() {
            // The table this key goes into (doubled at two thirds full).
            let size = if (index.len() + 1) * 3 > index.slots.len() * 2 {
                index.slots.len() * 2
            } else {
                index.slots.len()
            };
            // All collide: key i would sit i slots from its hash's slot.
            let expected = index.sip.is_some() || i > max_probe(size);
            assert!(!index.insert(key, i, key_at));
            // The switch comes as soon as a key would sit too far away.
            assert_eq!(index.sip.is_some(), expected, "key {i}");
            if expected && switched_at.is_none() {
                switched_at = Some(i);
            }
        }
        assert!(switched_at.is_some_and(|at| at < 1000), "{switched_at:?}");
        assert_eq!(index.len(), keys.len());
        // Every key is found again, and a repeat replaces its entry.
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(index.find(key, key_at), Some(i));
        }
        assert!(index.insert(&keys[7], 7, key_at));
        assert_eq!(index.len(), keys.len());
        assert_eq!(index.find(b"\0\0\0\0\0\0\0\0x", key_at), None);
        // SipHash spreads them: a key sits a few slots from its hash's, not
        // thousands.
        let mask = index.slots.len() - 1;
        let distances: usize = (0..index.slots.len())
            .filter(|&s| index.slots[s].1 != 0)
            .map(|s| s.wrapping_sub(index.slots[s].0 as usize) & mask)
            .sum();
        assert!(distances < 4 * keys.len(), "{distances}");
    }

    #[test]
    fn the_fast_hash_stays_for_ordinary_keys() {
        let keys: Vec<Vec<u8>> = (0..50_000)
            .map(|i| format!("key.{i}").into_bytes())
            .collect();
        let key_at = |i: usize| keys.get(i).map(Vec::as_slice);
        let mut index = KeyIndex::with_capacity(10);
        for (i, key) in keys.iter().enumerate() {
            assert!(!index.insert(key, i, key_at));
        }
        assert!(index.sip.is_none());
        assert_eq!(index.len(), keys.len());
        for (i, key) in keys.iter().enumerate() {
            assert_eq!(index.find(key, key_at), Some(i));
        }
    }
}
