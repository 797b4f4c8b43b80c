//! Values inside escaped documents: JSON held in a JSON string, a notebook's source lines, a
//! YAML block in a string literal. `\"key\": \"value\"` hides its quotes from rules that look
//! for `"key": "value"`, so the lines holding an escaped assignment are searched a second time,
//! unescaped.

/// The lines of `text` that hold an escaped quote, with `\"` and `\\` unescaped; every other line
/// left empty, so that line numbers stay those of `text` and the second search costs only what
/// those lines cost. `None` when no line holds one.
pub(super) fn unescape_quotes(text: &[u8]) -> Option<Vec<u8>> {
    let mut hits = escaped_quotes().find_iter(text).peekable();
    hits.peek()?;
    let mut out = Vec::new();
    let mut done = 0;
    for hit in hits {
        if hit < done {
            continue; // On a line already unescaped.
        }
        let start = memchr::memrchr(b'\n', &text[done..hit]).map_or(done, |at| done + at + 1);
        let end = memchr::memchr(b'\n', &text[hit..]).map_or(text.len(), |at| hit + at + 1);
        out.resize(
            out.len() + memchr::memchr_iter(b'\n', &text[done..start]).count(),
            b'\n',
        );
        let line = &text[start..end];
        if !escaped_assignment(line) {
            // Escaped quotes in code (`"\"{}\""`), not a value inside an escaped document.
            out.resize(
                out.len() + memchr::memchr_iter(b'\n', &text[done..end]).count(),
                b'\n',
            );
            done = end;
            continue;
        }
        let mut from = 0;
        // Copied in runs between backslashes: a backslash before `"` or `\\` is dropped.
        while let Some(at) = memchr::memchr(b'\\', &line[from..]).map(|at| from + at) {
            out.extend_from_slice(&line[from..at]);
            match line.get(at + 1) {
                Some(next @ (b'"' | b'\\')) => {
                    out.push(*next);
                    from = at + 2;
                }
                _ => {
                    out.push(b'\\');
                    from = at + 1;
                }
            }
        }
        out.extend_from_slice(&line[from..]);
        done = end;
    }
    Some(out)
}

/// Whether a line holds a value assigned inside an escaped document: an escaped quote next to
/// `:` or `=`, a space allowed between (`\"key\": \"`, `key = \"value\"`).
fn escaped_assignment(line: &[u8]) -> bool {
    let assigns = |byte: &u8| matches!(byte, b':' | b'=');
    escaped_quotes().find_iter(line).any(|at| {
        let (before, after) = (&line[..at], &line[at + 2..]);
        let after = after.strip_prefix(b" ").unwrap_or(after);
        let before = before.strip_suffix(b" ").unwrap_or(before);
        after.first().is_some_and(assigns) || before.last().is_some_and(assigns)
    })
}

/// The searcher for `\"`, built once.
fn escaped_quotes() -> &'static memchr::memmem::Finder<'static> {
    static ESCAPED_QUOTE: std::sync::OnceLock<memchr::memmem::Finder<'static>> = std::sync::OnceLock::new();
    ESCAPED_QUOTE.get_or_init(|| memchr::memmem::Finder::new(b"\\\""))
}
