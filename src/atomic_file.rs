//! Output files written whole or not at all: reports and baselines go to a temporary file in the
//! same directory first, then are renamed into place.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::Context;

/// Writes a file atomically (a temporary file in the same directory, then a rename), so a
/// crash never leaves a truncated file for the CI platform to choke on. Errors name `what` and
/// the file.
pub fn write(
    path: &Path,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let shown = path.display();
    let dir = match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let mut temporary = tempfile::NamedTempFile::new_in(&dir).with_context(|| {
        format!(
            "writing {what} {shown}: cannot create a file in {}",
            dir.display()
        )
    })?;
    // Buffered: serde_json writes token by token, one system call each without a buffer.
    let mut writer = std::io::BufWriter::new(&mut temporary);
    write(&mut writer).with_context(|| format!("writing {what} {shown}"))?;
    writer
        .flush()
        .with_context(|| format!("writing {what} {shown}"))?;
    drop(writer);
    temporary
        .persist(path)
        .with_context(|| format!("writing {what} {shown}"))?;
    Ok(())
}
