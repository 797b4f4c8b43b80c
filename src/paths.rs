//! Path arithmetic: lexical normalisation, containment checks for untrusted paths (patchsets),
//! '/'-separated relative forms for matching and reporting, and URI encoding for SARIF.

use std::path::{Component, Path, PathBuf};

/// A file name as git or a patchset gives it, as a path: any bytes on Unix, UTF-8 elsewhere.
pub fn os_path(name: Vec<u8>) -> anyhow::Result<PathBuf> {
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStringExt;
        Ok(PathBuf::from(std::ffi::OsString::from_vec(name)))
    }
    #[cfg(not(unix))]
    {
        String::from_utf8(name)
            .map(PathBuf::from)
            .map_err(|_| anyhow::anyhow!("not UTF-8"))
    }
}

/// Resolves `.` and `..` without touching the file system. `..` never climbs above the root of
/// an absolute path, and is kept at the front of a relative one.
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for component in path.components() {
        match component {
            Component::CurDir => {}
            Component::ParentDir => {
                let last_is_normal = matches!(out.components().next_back(), Some(Component::Normal(_)));
                if last_is_normal {
                    out.pop();
                } else if !out.has_root() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

/// Makes `path` absolute against `cwd` and normalises it lexically.
pub fn absolute(path: &Path, cwd: &Path) -> PathBuf {
    if path.is_absolute() {
        normalize(path)
    } else {
        normalize(&cwd.join(path))
    }
}

/// The best absolute form of `path`: canonical (symlinks resolved) when it exists, else its
/// parent canonicalised and the file name appended, else lexical.
pub fn resolve(path: &Path, cwd: &Path) -> PathBuf {
    let lexical = absolute(path, cwd);
    if let Ok(canonical) = lexical.canonicalize() {
        return canonical;
    }
    match (lexical.parent(), lexical.file_name()) {
        (Some(parent), Some(name)) => match parent.canonicalize() {
            Ok(parent) => parent.join(name),
            Err(_) => lexical,
        },
        _ => lexical,
    }
}

/// `path` relative to `base` as a '/'-separated string, climbing with `..` where needed.
/// Both must be absolute and normalised.
pub fn relative_to(path: &Path, base: &Path) -> String {
    let path_parts: Vec<_> = path.components().collect();
    let base_parts: Vec<_> = base.components().collect();
    let common = path_parts
        .iter()
        .zip(&base_parts)
        .take_while(|(a, b)| a == b)
        .count();
    let mut parts: Vec<String> = Vec::new();
    parts.extend(std::iter::repeat_n("..".to_string(), base_parts.len() - common));
    parts.extend(
        path_parts[common..]
            .iter()
            .map(|c| c.as_os_str().to_string_lossy().into_owned()),
    );
    parts.join("/")
}

/// A '/'-separated form of a path relative to the scan root (lossy for non-UTF-8 names, which
/// only affects matching and display, never which file is read).
pub fn slash_path(relative: &Path) -> String {
    relative
        .components()
        .map(|c| c.as_os_str().to_string_lossy())
        .collect::<Vec<_>>()
        .join("/")
}

/// Percent-encodes a relative path for a SARIF `artifactLocation.uri`: unreserved characters and
/// '/' stay, everything else (spaces, '%', '#', '?', non-ASCII bytes) is encoded.
pub fn uri_encode(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    for byte in path.bytes() {
        let keep = byte.is_ascii_alphanumeric() || matches!(byte, b'/' | b'-' | b'.' | b'_' | b'~');
        if keep {
            out.push(byte as char);
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

/// A `file://` URI for an absolute directory, ending in '/', as SARIF's `originalUriBaseIds` wants.
pub fn directory_uri(dir: &Path) -> String {
    let mut encoded = uri_encode(&dir.to_string_lossy());
    if !encoded.starts_with('/') {
        encoded.insert(0, '/');
    }
    if !encoded.ends_with('/') {
        encoded.push('/');
    }
    format!("file://{encoded}")
}

/// The directory holding `.git` at or above `dir`, if any: the root that code scanning resolves
/// SARIF paths against.
pub fn git_work_tree(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|candidate| candidate.join(".git").exists())
        .map(Path::to_path_buf)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalize_resolves_dots_lexically() {
        assert_eq!(normalize(Path::new("/a/b/../c/./d")), PathBuf::from("/a/c/d"));
        assert_eq!(normalize(Path::new("/../../etc")), PathBuf::from("/etc"));
        assert_eq!(normalize(Path::new("a/../../b")), PathBuf::from("../b"));
    }

    #[test]
    fn relative_paths_climb_when_needed() {
        assert_eq!(relative_to(Path::new("/r/a/b.txt"), Path::new("/r")), "a/b.txt");
        assert_eq!(
            relative_to(Path::new("/x/y.txt"), Path::new("/r/s")),
            "../../x/y.txt"
        );
        assert_eq!(relative_to(Path::new("/r"), Path::new("/r")), "");
    }

    #[test]
    fn uris_encode_everything_but_unreserved() {
        assert_eq!(uri_encode("src/a b%#?.rs"), "src/a%20b%25%23%3F.rs");
        assert_eq!(uri_encode("dé.txt"), "d%C3%A9.txt");
        assert_eq!(directory_uri(Path::new("/w s/x")), "file:///w%20s/x/");
    }
}
