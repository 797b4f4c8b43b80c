//! Markdown that shows text from the tree as text: code spans, escaped prose and table cells.
//! Separate from the summary's layout so that the escaping rules can be read and tested alone.

/// A code span holding `text` literally: the fence is one backtick longer than the longest run
/// inside, and padded when the text starts or ends with a backtick or a space (CommonMark would
/// otherwise merge or strip them). Backslashes are literal inside, so nothing else is escaped.
pub(super) fn code(text: &str) -> String {
    let text = text.replace(['\r', '\n'], " ");
    let longest = text.split(|c| c != '`').map(str::len).max().unwrap_or(0);
    let fence = "`".repeat(longest + 1);
    let pad = text.is_empty() || text.starts_with(['`', ' ']) || text.ends_with(['`', ' ']);
    let pad = if pad { " " } else { "" };
    format!("{fence}{pad}{text}{pad}{fence}")
}

/// Text shown as is: every ASCII punctuation character Markdown or inline HTML could act on is
/// backslash-escaped (links, images, emphasis, HTML tags, entities), line breaks become spaces.
pub(super) fn markdown_text(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\r' | '\n' => out.push(' '),
            '\\' | '`' | '*' | '_' | '[' | ']' | '<' | '>' | '(' | ')' | '!' | '&' | '|' | '~' | '#' => {
                out.push('\\');
                out.push(c);
            }
            c => out.push(c),
        }
    }
    out
}

/// A table cell: a `|` would end the cell, even inside a code span, unless escaped (GFM removes
/// the backslash there too); an escaped one stays escaped.
pub(super) fn cell(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut backslashes = 0;
    for c in text.chars() {
        if c == '|' && backslashes % 2 == 0 {
            out.push('\\');
        }
        backslashes = if c == '\\' { backslashes + 1 } else { 0 };
        out.push(if c == '\r' || c == '\n' { ' ' } else { c });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn code_spans_hold_any_text() {
        assert_eq!(code("a.txt"), "`a.txt`");
        assert_eq!(code("a`b"), "``a`b``");
        assert_eq!(code("`x``"), "``` `x`` ```");
        assert_eq!(code("a\nb"), "`a b`");
        assert_eq!(cell(&code("a|b")), "`a\\|b`");
        assert_eq!(cell("a\\|b"), "a\\|b");
        assert_eq!(
            markdown_text("<img src=x> [link](http://e) *b*"),
            "\\<img src=x\\> \\[link\\]\\(http://e\\) \\*b\\*"
        );
    }
}
