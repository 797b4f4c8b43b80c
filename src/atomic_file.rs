//! Output files written whole or not at all, without clobbering what is not ours: reports and
//! baselines go to a temporary file next to the regular file they replace, then are renamed into
//! place; a symbolic link is written through (the link stays), a FIFO or `/dev/stdout` is written
//! as a stream, and anything else (a device, a socket, a directory, a link to nothing) is refused
//! before anything is written. A link the scanned repository commits (the file's or a folder's
//! above it) is refused too: the change under review would choose where reports go. The only file ever renamed or deleted is the temporary file this
//! run created.

use std::io::Write;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};

/// Where the bytes of one output go.
#[derive(Debug, PartialEq, Eq)]
enum Destination {
    /// A regular file (or nothing yet) at this path, the link resolved: replaced atomically.
    Replace(PathBuf),
    /// A FIFO: opened for writing, neither created nor truncated.
    Stream,
    /// The process's standard output.
    Stdout,
}

/// Paths that name the process's standard output, written to as a stream.
const STDOUT_PATHS: &[&str] = &["/dev/stdout", "/dev/fd/1", "/proc/self/fd/1"];

/// Refuses, with an error naming `what` and the path, an output path anteater must not write:
/// called for every output before the scan, so that a bad path fails the run (exit 2) before
/// anything is claimed or written.
pub fn check(path: &Path, what: &str) -> anyhow::Result<()> {
    destination(path, what).map(|_| ())
}

/// Writes an output file (see the module documentation), so that a crash never leaves a
/// truncated file for the CI platform to choke on. Errors name `what` and the file.
pub fn write(
    path: &Path,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let shown = path.display();
    match destination(path, what)? {
        Destination::Replace(target) => replace(&target, path, what, write),
        Destination::Stream => {
            let file = std::fs::OpenOptions::new()
                .write(true)
                .open(path)
                .with_context(|| format!("writing {what} {shown}"))?;
            stream(file, what, path, write)
        }
        Destination::Stdout => stream(std::io::stdout().lock(), what, path, write),
    }
}

/// Opens an output that is appended to (the runner's step summary and outputs files), with the
/// same refusals as `write`.
pub fn open_append(path: &Path, what: &str) -> anyhow::Result<std::fs::File> {
    let target = match destination(path, what)? {
        Destination::Replace(target) => target,
        Destination::Stream | Destination::Stdout => path.to_path_buf(),
    };
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(target)
        .with_context(|| format!("writing {what} {}", path.display()))
}

fn destination(path: &Path, what: &str) -> anyhow::Result<Destination> {
    let shown = path.display();
    if STDOUT_PATHS.iter().any(|stdout| path == Path::new(stdout)) {
        return Ok(Destination::Stdout);
    }
    if let Some(link) = committed_link(path) {
        bail!(
            "{what} {shown}: {} is a symbolic link committed to the repository; refusing to \
             write through it (a change could point it anywhere). Give a path that is not a \
             committed link",
            link.display()
        );
    }
    let link = match std::fs::symlink_metadata(path) {
        Ok(metadata) => metadata.file_type().is_symlink(),
        Err(err) if err.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Destination::Replace(path.to_path_buf()))
        }
        Err(err) => return Err(err).with_context(|| format!("{what} {shown}: cannot inspect it")),
    };
    let metadata = match std::fs::metadata(path) {
        Ok(metadata) => metadata,
        Err(err) if link && err.kind() == std::io::ErrorKind::NotFound => bail!(
            "{what} {shown} is a symbolic link to nothing; refusing to create its target \
             (remove the link or point it at a file)"
        ),
        Err(err) => return Err(err).with_context(|| format!("{what} {shown}: cannot inspect it")),
    };
    let kind = metadata.file_type();
    if kind.is_file() {
        let target = if link {
            path.canonicalize()
                .with_context(|| format!("{what} {shown}: cannot resolve the link"))?
        } else {
            path.to_path_buf()
        };
        return Ok(Destination::Replace(target));
    }
    if is_fifo(&kind) {
        return Ok(Destination::Stream);
    }
    bail!(
        "{what} {shown} is {}, not a regular file or a FIFO; refusing to write to it",
        describe(&kind)
    )
}

/// The first symbolic link on `path` (the file itself or a folder above it) that git tracks:
/// the scanned repository provides it, so a change under review decides where it points
/// (`anteater.sarif -> ../../.ssh/config`, `reports -> /`). A link the user made (untracked, or
/// outside any repository) is theirs to give, and is followed.
fn committed_link(path: &Path) -> Option<PathBuf> {
    let absolute = std::path::absolute(path).ok()?;
    absolute
        .ancestors()
        .filter(|candidate| std::fs::symlink_metadata(candidate).is_ok_and(|m| m.file_type().is_symlink()))
        .find(|link| {
            let (Some(dir), Some(name)) = (link.parent(), link.file_name()) else {
                return false;
            };
            let name = name.to_string_lossy();
            // `:(literal)`: the name is a name, never a pattern.
            crate::git::git(
                dir,
                &["ls-files", "--error-unmatch", "--", &format!(":(literal){name}")],
            )
            .is_ok()
        })
        .map(Path::to_path_buf)
}

#[cfg(unix)]
fn is_fifo(kind: &std::fs::FileType) -> bool {
    use std::os::unix::fs::FileTypeExt;
    kind.is_fifo()
}

#[cfg(not(unix))]
fn is_fifo(_kind: &std::fs::FileType) -> bool {
    false
}

#[cfg(unix)]
fn describe(kind: &std::fs::FileType) -> &'static str {
    use std::os::unix::fs::FileTypeExt;
    if kind.is_dir() {
        "a directory"
    } else if kind.is_char_device() {
        "a character device"
    } else if kind.is_block_device() {
        "a block device"
    } else if kind.is_socket() {
        "a socket"
    } else {
        "a special file"
    }
}

#[cfg(not(unix))]
fn describe(kind: &std::fs::FileType) -> &'static str {
    if kind.is_dir() {
        "a directory"
    } else {
        "a special file"
    }
}

/// The temporary-file-and-rename write of a regular file at `target` (`path` as given, for
/// messages).
fn replace(
    target: &Path,
    path: &Path,
    what: &str,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let shown = path.display();
    let dir = match target.parent() {
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
        .persist(target)
        .with_context(|| format!("writing {what} {shown}"))?;
    Ok(())
}

fn stream(
    out: impl Write,
    what: &str,
    path: &Path,
    write: impl FnOnce(&mut dyn Write) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let shown = path.display();
    let mut writer = std::io::BufWriter::new(out);
    write(&mut writer).with_context(|| format!("writing {what} {shown}"))?;
    writer.flush().with_context(|| format!("writing {what} {shown}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_are_written_through_and_directories_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real.txt");
        std::fs::write(&real, "old").unwrap();
        let link = dir.path().join("link.txt");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        write(&link, "test", |out| Ok(out.write_all(b"new")?)).unwrap();
        assert!(std::fs::symlink_metadata(&link).unwrap().file_type().is_symlink());
        assert_eq!(std::fs::read_to_string(&real).unwrap(), "new");

        let error = check(dir.path(), "test").unwrap_err().to_string();
        assert!(error.contains("is a directory"), "{error}");
        let dangling = dir.path().join("dangling");
        std::os::unix::fs::symlink(dir.path().join("nowhere"), &dangling).unwrap();
        let error = check(&dangling, "test").unwrap_err().to_string();
        assert!(error.contains("link to nothing"), "{error}");
        assert!(!dir.path().join("nowhere").exists());
    }
}
