//! Reading file versions out of git: one `git cat-file --batch` process answers any number of
//! questions (`<commit>:<path>`, `:<path>` for the index, a blob id), one at a time, so memory
//! holds one version at most and a version too large to hold is streamed to where it goes.

use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, ChildStdout, Stdio};

use anyhow::{bail, Context};

/// What git has under a name.
pub enum Blob {
    Content(Vec<u8>),
    /// Larger than the limit asked for: streamed to the sink the caller gave.
    Large(u64),
    /// No such version (a file the revision lacks, or a blob a partial clone lacks).
    Missing,
}

/// A running `git cat-file --batch`.
pub struct BlobReader {
    child: Child,
    input: BufWriter<ChildStdin>,
    output: BufReader<ChildStdout>,
}

impl BlobReader {
    /// Starts git in `dir` (names with `./` are relative to it).
    pub fn start(dir: &Path) -> anyhow::Result<Self> {
        let mut child = crate::diff::git_command(dir)
            .args(["cat-file", "--batch"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .context("running git cat-file (is git installed?)")?;
        let input = BufWriter::new(child.stdin.take().context("git cat-file's input")?);
        let output = BufReader::with_capacity(1 << 16, child.stdout.take().context("git cat-file's output")?);
        Ok(BlobReader { child, input, output })
    }

    /// The version git names `spec`: held in memory up to `limit` bytes, else copied to `large`.
    pub fn read(&mut self, spec: &str, limit: u64, large: &mut dyn Write) -> anyhow::Result<Blob> {
        if spec.contains('\n') {
            bail!("a name holding a line break cannot be read from git");
        }
        writeln!(self.input, "{spec}")?;
        self.input.flush()?;
        let mut header = String::new();
        if self.output.read_line(&mut header)? == 0 {
            bail!("git cat-file ended early");
        }
        let fields: Vec<&str> = header.split_whitespace().collect();
        // `<name> missing`, or `<name> ambiguous`, or a submodule's `<id> submodule`.
        if fields.len() != 3 {
            return Ok(Blob::Missing);
        }
        let size: u64 = fields[2].parse().context("git cat-file: a bad size")?;
        if fields[1] != "blob" {
            std::io::copy(&mut (&mut self.output).take(size + 1), &mut std::io::sink())?;
            return Ok(Blob::Missing);
        }
        if size > limit {
            std::io::copy(&mut (&mut self.output).take(size), large)?;
            let mut newline = [0u8; 1];
            self.output.read_exact(&mut newline)?;
            return Ok(Blob::Large(size));
        }
        let mut content = vec![0; size as usize + 1];
        self.output.read_exact(&mut content)?;
        content.pop(); // The line break after the content.
        Ok(Blob::Content(content))
    }
}

impl Drop for BlobReader {
    fn drop(&mut self) {
        let _ = self.input.flush();
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
