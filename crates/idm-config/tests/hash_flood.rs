//! Crafted `.properties` keys must not make parsing quadratic.
//!
//! The key index once used an unkeyed FxHash-style hasher
//! (`h = (h.rotate_left(5) ^ word) * K` over 8-byte little-endian words,
//! then the bytes left, then `str`'s `0xff` terminator). With a fixed hash,
//! anyone can build keys that all hash alike: this test builds a Joux-style
//! multicollision against that function (13 stages of two 16-byte blocks
//! leading to the same state, so 2^13 keys with one 64-bit hash) and checks
//! that parsing them costs about what parsing ordinary keys costs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::{Duration, Instant};

use idm_config::PropertiesFile;

const K: u64 = 0x51_7c_c1_b7_27_22_0a_95;
const STAGES: usize = 13;

fn step(h: u64, word: u64) -> u64 {
    (h.rotate_left(5) ^ word).wrapping_mul(K)
}

/// The old index hash of a `str` key.
fn old_hash(key: &str) -> u64 {
    let mut h = 0u64;
    let mut chunks = key.as_bytes().chunks_exact(8);
    for chunk in &mut chunks {
        h = step(h, u64::from_le_bytes(chunk.try_into().unwrap()));
    }
    for &b in chunks.remainder() {
        h = step(h, u64::from(b));
    }
    step(h, 0xff)
}

/// Characters usable in a key without any escaping.
fn allowed(b: u8) -> bool {
    (0x21..=0x7e).contains(&b) && !b"=:\\#!".contains(&b)
}

fn word_of(bytes: [u8; 8]) -> u64 {
    u64::from_le_bytes(bytes)
}

/// Eight allowed characters numbered by `n`.
fn ascii_word(n: u64) -> [u8; 8] {
    let mut out = [b'a'; 8];
    let mut n = n;
    for slot in &mut out {
        *slot = b'A' + (n % 26) as u8;
        n /= 26;
    }
    out
}

/// Two 16-byte blocks that lead from state `s` to the same state.
fn colliding_pair(s: u64, seed: u64) -> ([u8; 16], [u8; 16], u64) {
    let a1 = ascii_word(seed);
    let ta = step(s, word_of(a1));
    for n in 1u64.. {
        let b1 = ascii_word(seed.wrapping_add(n.wrapping_mul(7919)));
        if b1 == a1 {
            continue;
        }
        let tb = step(s, word_of(b1));
        let d = (ta.rotate_left(5) ^ tb.rotate_left(5)).to_le_bytes();
        let mut a2 = [0u8; 8];
        let mut b2 = [0u8; 8];
        let mut ok = true;
        for i in 0..8 {
            match (0x21u8..=0x7e).find(|&a| allowed(a) && allowed(a ^ d[i])) {
                Some(a) => {
                    a2[i] = a;
                    b2[i] = a ^ d[i];
                }
                None => {
                    ok = false;
                    break;
                }
            }
        }
        if !ok {
            continue;
        }
        let next = step(ta, word_of(a2));
        assert_eq!(next, step(tb, word_of(b2)));
        let mut x = [0u8; 16];
        let mut y = [0u8; 16];
        x[..8].copy_from_slice(&a1);
        x[8..].copy_from_slice(&a2);
        y[..8].copy_from_slice(&b1);
        y[8..].copy_from_slice(&b2);
        return (x, y, next);
    }
    unreachable!()
}

fn crafted_keys() -> Vec<String> {
    let mut state = 0u64;
    let mut stages = Vec::new();
    for i in 0..STAGES {
        let (x, y, next) = colliding_pair(state, 1000 + i as u64 * 31);
        stages.push((x, y));
        state = next;
    }
    (0..1u32 << STAGES)
        .map(|n| {
            let mut key = Vec::with_capacity(16 * STAGES);
            for (i, (x, y)) in stages.iter().enumerate() {
                key.extend_from_slice(if n >> i & 1 == 0 { x } else { y });
            }
            String::from_utf8(key).unwrap()
        })
        .collect()
}

fn ordinary_keys(count: usize, len: usize) -> Vec<String> {
    (0..count)
        .map(|n| {
            let mut key = format!("key.{n}.");
            while key.len() < len {
                key.push(char::from(b'a' + (key.len() % 26) as u8));
            }
            key
        })
        .collect()
}

fn file_of(keys: &[String]) -> Vec<u8> {
    let mut text = String::new();
    for (i, k) in keys.iter().enumerate() {
        text.push_str(k);
        text.push('=');
        text.push_str(&i.to_string());
        text.push('\n');
    }
    text.into_bytes()
}

fn best_parse_time(bytes: &[u8], expected_len: usize) -> Duration {
    (0..3)
        .map(|_| {
            let start = Instant::now();
            let file = PropertiesFile::parse(bytes, "flood.properties");
            let took = start.elapsed();
            assert_eq!(file.len(), expected_len);
            took
        })
        .min()
        .unwrap()
}

#[test]
fn colliding_keys_parse_about_as_fast_as_ordinary_keys() {
    let crafted = crafted_keys();
    let count = crafted.len();
    // The keys really collide under the old hash, and are all different.
    let first = old_hash(&crafted[0]);
    assert!(crafted.iter().all(|k| old_hash(k) == first));
    let mut sorted = crafted.clone();
    sorted.sort();
    sorted.dedup();
    assert_eq!(sorted.len(), count);

    let ordinary = ordinary_keys(count, crafted[0].len());
    let crafted_bytes = file_of(&crafted);
    let ordinary_bytes = file_of(&ordinary);
    // Warm up allocations and caches once.
    let _ = PropertiesFile::parse(&ordinary_bytes, "warm.properties");

    let t_ordinary = best_parse_time(&ordinary_bytes, count);
    let t_crafted = best_parse_time(&crafted_bytes, count);
    // A floor keeps timer noise on a busy machine from failing the test;
    // the quadratic case takes seconds.
    let limit = t_ordinary.max(Duration::from_millis(20)) * 3;
    assert!(
        t_crafted <= limit,
        "{count} colliding keys took {t_crafted:?}, ordinary keys {t_ordinary:?} (limit {limit:?})"
    );
}
