//! Seeded generation for the property tests: a small deterministic generator, and the seeds a
//! test runs (a fixed count by default, more or one replayed through the environment).

/// A small deterministic generator (SplitMix64): the same seed builds the same case.
pub struct Rng(pub u64);

impl Rng {
    pub fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// A number in `0..n` (`n` > 0).
    pub fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }

    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// The seeds to run: `{prefix}_SEED=N` replays one case, `{prefix}_CASES=N` runs N cases
/// (seeds 1..=N), `default` cases otherwise.
pub fn seeds(prefix: &str, default: u64) -> Vec<u64> {
    if let Ok(seed) = std::env::var(format!("{prefix}_SEED")) {
        return vec![seed.parse().expect("a seed is a number")];
    }
    let cases = std::env::var(format!("{prefix}_CASES"))
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(default);
    (1..=cases).collect()
}

/// Runs `check` for each seed; a failure (a panic) is reported with its seed and how to replay
/// it, then raised again.
pub fn for_each_seed(prefix: &str, default: u64, mut check: impl FnMut(u64)) {
    for seed in seeds(prefix, default) {
        let outcome = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| check(seed)));
        if let Err(panic) = outcome {
            let message = panic
                .downcast_ref::<String>()
                .cloned()
                .or_else(|| panic.downcast_ref::<&str>().map(|s| s.to_string()))
                .unwrap_or_default();
            panic!("seed {seed} failed (replay with {prefix}_SEED={seed}):\n{message}");
        }
    }
}

/// `path:line` of each console finding line holding `marker` (the rule id between its
/// separators), as the console prints `path:line:column  rule  …`.
pub fn locations(stdout: &str, marker: &str) -> std::collections::BTreeSet<String> {
    stdout
        .lines()
        .filter(|line| line.contains(marker))
        .map(|line| {
            let location = line.split("  ").next().unwrap();
            let mut parts = location.rsplitn(3, ':');
            let _column = parts.next();
            let line = parts.next().unwrap();
            format!("{}:{line}", parts.next().unwrap())
        })
        .collect()
}

/// A GitHub token with a valid checksum, different for every `n`; fake by construction (made
/// from a counter at run time).
pub fn github_token(n: u64) -> String {
    let mut rng = Rng(n.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0x7a11);
    let alphabet = b"ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz23456789";
    let random: String = (0..30)
        .map(|_| alphabet[rng.below(alphabet.len())] as char)
        .collect();
    let checksum = anteater::testing::base62_crc32(random.as_bytes());
    format!("ghp_{random}{checksum}") // fake-secret-for-tests
}
/// An AWS access key id: `AKIA` and 16 base32 characters, different for every `n`.
pub fn aws_key_id(n: u64) -> String {
    let mut rng = Rng(n.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0xa115);
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    let body: String = (0..16)
        .map(|_| alphabet[rng.below(alphabet.len())] as char)
        .collect();
    format!("AKIA{body}") // fake-secret-for-tests
}

/// `lines` lines of a PEM body: base64 made from a counter, 64 characters a line (the last may
/// be shorter), different for every `n`.
pub fn pem_body(n: u64, lines: usize) -> Vec<String> {
    let alphabet = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut rng = Rng(n ^ 0xbe57);
    (0..lines)
        .map(|index| {
            let width = if index + 1 == lines && lines > 1 {
                20 + rng.below(44)
            } else {
                64
            };
            (0..width).map(|_| alphabet[rng.below(64)] as char).collect()
        })
        .collect()
}
