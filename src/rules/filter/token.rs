//! Checks on a secret's own bytes: how random it is, whether it is base64 (and what it
//! decodes to), and whether it carries the checksum its format defines.

use base64::Engine;

/// Shannon entropy in bits per byte.
pub fn shannon_entropy(bytes: &[u8]) -> f64 {
    if bytes.is_empty() {
        return 0.0;
    }
    let mut counts = [0usize; 256];
    for &b in bytes {
        counts[b as usize] += 1;
    }
    let n = bytes.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| {
            let p = c as f64 / n;
            -p * p.log2()
        })
        .sum()
}

pub(super) fn distinct(bytes: &[u8]) -> usize {
    let mut seen = [false; 256];
    bytes.iter().for_each(|&b| seen[b as usize] = true);
    seen.iter().filter(|&&s| s).count()
}

pub(super) fn looks_like_base64(bytes: &[u8]) -> bool {
    bytes.len() >= 8
        && bytes.len() % 4 == 0
        && bytes
            .iter()
            .all(|&b| b.is_ascii_alphanumeric() || matches!(b, b'+' | b'/' | b'='))
}

pub(super) fn decode_base64(raw: &[u8]) -> Option<Vec<u8>> {
    let trimmed: Vec<u8> = raw.iter().copied().filter(|&b| b != b'=').collect();
    base64::engine::general_purpose::STANDARD_NO_PAD
        .decode(&trimmed)
        .ok()
        .filter(|bytes| !bytes.is_empty())
}

const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// `prefix_` + 30 random characters + their CRC32 in 6 base62 characters.
pub fn github_checksum_ok(token: &[u8]) -> bool {
    let Some(underscore) = token.iter().position(|&b| b == b'_') else {
        return false;
    };
    let body = &token[underscore + 1..];
    if body.len() != 36 {
        return false;
    }
    let (random, checksum) = body.split_at(30);
    base62_crc32(random).as_bytes() == checksum
}

/// CRC32 of `bytes`, in 6 base62 characters (zero-padded).
pub fn base62_crc32(bytes: &[u8]) -> String {
    let mut n = crc32fast::hash(bytes);
    let mut out = [b'0'; 6];
    for slot in out.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entropy_of_random_and_repeated_text() {
        assert_eq!(shannon_entropy(b"aaaa"), 0.0);
        assert!((shannon_entropy(b"abcd") - 2.0).abs() < 1e-9);
        assert!(shannon_entropy(b"wJalrXUtnFEMIK7MDENGbPxRfiCY") > 4.0);
    }

    #[test]
    fn github_checksum_is_checked() {
        let random = "abcdefghijklmnopqrstuvwxyz0123";
        let good = format!("ghp_{random}{}", base62_crc32(random.as_bytes()));
        assert!(github_checksum_ok(good.as_bytes()));
        let mut bad = good.clone().into_bytes();
        bad[10] = if bad[10] == b'x' { b'y' } else { b'x' };
        assert!(!github_checksum_ok(&bad));
        assert!(!github_checksum_ok(b"ghp_0123456789abcdefghijklmnopqrstuvwxyz"));
    }
}
