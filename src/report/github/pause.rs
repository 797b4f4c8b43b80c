//! Pausing the runner's workflow commands while other reporters print text from the tree.
//! Separate from annotations: it wraps what the console prints, and owns the random token.

use std::io::Write;

/// A pause in the runner's processing of workflow commands (`::stop-commands::TOKEN`, ended by
/// `::TOKEN::`), GitHub's own advice for logging untrusted text: while it lasts, a file name
/// such as `##[set-output name=findings]0` printed by the console is only text. The token is
/// random, so nothing in the tree can end the pause early.
pub struct CommandPause {
    token: String,
}

impl CommandPause {
    pub fn begin(out: &mut impl Write) -> std::io::Result<Self> {
        let pause = Self {
            token: random_token(),
        };
        writeln!(out, "::stop-commands::{}", pause.token)?;
        out.flush()?;
        Ok(pause)
    }

    pub fn end(self, out: &mut impl Write) -> std::io::Result<()> {
        writeln!(out, "::{}::", self.token)?;
        out.flush()
    }
}

/// 128 random bits as hex, from the standard library's randomly keyed hasher (seeded by the
/// operating system) and the clock, so no new dependency is needed.
fn random_token() -> String {
    use std::hash::BuildHasher;
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    let half =
        |n: u8| std::collections::hash_map::RandomState::new().hash_one((n, nanos, std::process::id()));
    format!("anteater-{:016x}{:016x}", half(0), half(1))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pause_is_ended_by_its_own_token() {
        let mut out = Vec::new();
        let pause = CommandPause::begin(&mut out).unwrap();
        let token = pause.token.clone();
        pause.end(&mut out).unwrap();
        assert_eq!(
            String::from_utf8(out).unwrap(),
            format!("::stop-commands::{token}\n::{token}::\n")
        );
        assert_ne!(random_token(), random_token());
    }
}
