//! Test support for the probe program (`ember_cluster_probe`) and the
//! tests that check it: the deterministic message each process sends each
//! other in each round, and the digest a process prints of what it got.
//! Sizes cycle through empty, tiny, ~200 KB and multi-MB messages.

/// The size of the message from `from` to `to` in `round`, before the
/// seeded jitter: 0, a few bytes, 4 KB, ~200 KB, 0 again, ~3 MB.
const SIZES: [usize; 6] = [0, 7, 4096, 200 * 1024, 0, 3 * 1024 * 1024];

/// The message process `from` sends process `to` in round `round` of a
/// probe run seeded `seed`.
///
/// ```
/// use ember_cluster::probe::message;
/// assert_eq!(message(7, 0, 1, 2), message(7, 0, 1, 2));
/// assert_ne!(message(7, 2, 1, 0), message(8, 2, 1, 0));
/// ```
pub fn message(seed: u64, round: usize, from: usize, to: usize) -> Vec<u8> {
    let mut state = seed
        ^ (round as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15)
        ^ (from as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F)
        ^ (to as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
    let base = SIZES[(round * 7 + from * 3 + to) % SIZES.len()];
    let len = if base == 0 {
        0
    } else {
        base + (split_mix(&mut state) % 64) as usize
    };
    let mut bytes = Vec::with_capacity(len + 8);
    while bytes.len() < len {
        bytes.extend_from_slice(&split_mix(&mut state).to_le_bytes());
    }
    bytes.truncate(len);
    bytes
}

/// One line describing what a process received in a round: each sender's
/// message length and FNV-1a hash.
///
/// ```
/// use ember_cluster::probe::digest;
/// assert_eq!(
///     digest(3, &[vec![], vec![1, 2]]),
///     "round 3: 0:0:cbf29ce484222325 1:2:082f2407b4e8902a"
/// );
/// ```
pub fn digest(round: usize, received: &[Vec<u8>]) -> String {
    let parts: Vec<String> = received
        .iter()
        .enumerate()
        .map(|(from, m)| format!("{from}:{}:{:016x}", m.len(), fnv1a(m)))
        .collect();
    format!("round {round}: {}", parts.join(" "))
}

/// The digest line process `to` should print for `round` of a run of
/// `processes` processes seeded `seed` (the model the tests compare with).
pub fn expected_digest(seed: u64, round: usize, processes: usize, to: usize) -> String {
    let received: Vec<Vec<u8>> = (0..processes)
        .map(|from| message(seed, round, from, to))
        .collect();
    digest(round, &received)
}

/// FNV-1a, 64 bits.
fn fnv1a(bytes: &[u8]) -> u64 {
    use std::hash::Hasher;
    let mut hasher = fnv::FnvHasher::default();
    hasher.write(bytes);
    hasher.finish()
}

/// SplitMix64's next value.
fn split_mix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}
