//! Reading file versions out of git: one `git cat-file --batch` process answers any number of
//! questions (`<commit>:<path>`, `:<path>` for the index, a blob id), one at a time, so memory
//! holds one version at most, and a version too large to hold is spooled to a temporary file or
//! skipped, as the caller asks. Every version anteater reads from git goes through `answer`.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use anyhow::{bail, Context};

/// What git has under a name.
pub enum Blob {
    Content(Vec<u8>),
    /// Larger than the limit, spooled to a temporary file (`OverLimit::Spool`).
    Spooled(tempfile::NamedTempFile),
    /// Larger than the limit, and skipped (`OverLimit::Skip`): its size.
    #[allow(dead_code)] // the size, for `Debug` and the tests: a run skips every large blob alike
    Large(u64),
    /// No such version (a file the revision lacks, or a blob a partial clone lacks).
    Missing,
    /// Not a file: a tree, a submodule's commit. The kind git names (for `Debug` and the tests:
    /// a run treats every kind alike).
    #[allow(dead_code)]
    Other(String),
}

/// What to do with a version larger than the limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverLimit {
    /// Stream it to a temporary file (inspected in windows from disk).
    Spool,
    /// Stream it past (every line of what it is compared with counts as new).
    Skip,
}

/// A running `git cat-file --batch`.
pub struct BlobReader {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
    /// git's messages: a file, not a pipe nobody reads, quoted when an answer fails.
    errors: tempfile::NamedTempFile,
}

impl BlobReader {
    /// Starts git in `dir` (names with `./` are relative to it).
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let errors = tempfile::NamedTempFile::new().context("a file for git's messages")?;
        let mut child = crate::git::git_command(dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(errors.reopen()?))
            .spawn()
            .context("running git cat-file (is git installed?)")?;
        let input = BufWriter::new(child.stdin.take().context("git cat-file's input")?);
        let output = BufReader::with_capacity(1 << 16, child.stdout.take().context("git cat-file's output")?);
        Ok(BlobReader {
            child,
            input,
            output,
            errors,
        })
    }

    /// The version git names `spec`: held in memory up to `limit` bytes.
    pub fn read(&mut self, spec: &str, limit: u64, over: OverLimit) -> anyhow::Result<Blob> {
        if spec.contains('\n') {
            bail!("a name holding a line break cannot be read from git");
        }
        let asked = writeln!(self.input, "{spec}").and_then(|()| self.input.flush());
        let answered = asked
            .map_err(anyhow::Error::from)
            .and_then(|()| answer(&mut self.output, limit, over));
        answered.map_err(|err| {
            let mut messages = String::new();
            let _ = self
                .errors
                .reopen()
                .and_then(|mut file| file.read_to_string(&mut messages));
            match messages.trim() {
                "" => err.context(format!("git cat-file --batch {spec}")),
                git => err.context(format!("git cat-file --batch {spec}: {git}")),
            }
        })
    }
}

impl Drop for BlobReader {
    fn drop(&mut self) {
        let _ = self.input.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One answer of `git cat-file --batch`: `<oid> <kind> <size>`, a line break, the content and a
/// line break; or `<name> missing` (a name may hold spaces: the last field decides).
pub fn answer(output: &mut impl BufRead, limit: u64, over: OverLimit) -> anyhow::Result<Blob> {
    let mut header = Vec::new();
    if output.read_until(b'\n', &mut header)? == 0 || header.last() != Some(&b'\n') {
        bail!("no answer");
    }
    header.pop();
    let header = String::from_utf8_lossy(&header).into_owned();
    let mut fields = header.rsplitn(3, ' ');
    let (last, kind) = (fields.next().unwrap_or_default(), fields.next());
    if matches!(last, "missing" | "ambiguous") {
        return Ok(Blob::Missing);
    }
    let size: u64 = last
        .parse()
        .with_context(|| format!("unexpected answer `{header}`"))?;
    let mut body = (&mut *output).take(size);
    let blob = match kind {
        Some("blob") if size <= limit => {
            let mut content = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
            body.read_to_end(&mut content)?;
            Blob::Content(content)
        }
        Some("blob") if over == OverLimit::Spool => {
            let mut file = tempfile::NamedTempFile::new().context("a file for a large blob")?;
            std::io::copy(&mut body, file.as_file_mut())?;
            Blob::Spooled(file)
        }
        Some("blob") => {
            std::io::copy(&mut body, &mut std::io::sink())?;
            Blob::Large(size)
        }
        // Not a file: what it is decides; its body is passed over.
        other => {
            std::io::copy(&mut body, &mut std::io::sink())?;
            let mut line_break = [0u8; 1];
            let _ = output.read_exact(&mut line_break);
            return Ok(Blob::Other(other.unwrap_or("nothing").to_string()));
        }
    };
    if body.limit() != 0 {
        bail!("the answer is cut short");
    }
    let mut line_break = [0u8; 1];
    output
        .read_exact(&mut line_break)
        .context("the answer is cut short")?;
    Ok(blob)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn content(blob: Blob) -> Option<Vec<u8>> {
        match blob {
            Blob::Content(content) => Some(content),
            _ => None,
        }
    }

    #[test]
    fn answers_in_a_row_are_read_one_by_one() {
        let mut stream: &[u8] =
            b"e1 blob 3\nabc\nHEAD:./a b missing\ne2 blob 5\nhello\ne3 tree 2\nxy\ne4 blob 1\nz\n";
        assert_eq!(
            content(answer(&mut stream, 10, OverLimit::Skip).unwrap()),
            Some(b"abc".to_vec())
        );
        // A name with spaces: the last field says it is missing.
        assert!(matches!(
            answer(&mut stream, 10, OverLimit::Skip).unwrap(),
            Blob::Missing
        ));
        assert!(matches!(
            answer(&mut stream, 4, OverLimit::Skip).unwrap(),
            Blob::Large(5)
        ));
        assert!(
            matches!(answer(&mut stream, 10, OverLimit::Skip).unwrap(), Blob::Other(kind) if kind == "tree")
        );
        assert_eq!(
            content(answer(&mut stream, 10, OverLimit::Skip).unwrap()),
            Some(b"z".to_vec())
        );
        assert!(answer(&mut stream, 10, OverLimit::Skip).is_err(), "nothing more");
    }

    #[test]
    fn a_version_over_the_limit_is_spooled_whole() {
        let mut stream: &[u8] = b"e1 blob 11\nhello world\n";
        let Blob::Spooled(file) = answer(&mut stream, 4, OverLimit::Spool).unwrap() else {
            panic!("spooled");
        };
        assert_eq!(std::fs::read(file.path()).unwrap(), b"hello world");
        let mut cut: &[u8] = b"e1 blob 11\nhello";
        assert!(answer(&mut cut, 100, OverLimit::Skip).is_err());
    }
}
