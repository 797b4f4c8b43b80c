//! Commit messages: a secret pasted into one is in history for good, like one in a file.
//! History scans (`--history`, `--diff`) inspect the message of each commit of the range as a
//! text of its own, named `COMMIT_MSG` at that commit: the content rules apply, not the file-name
//! or binary checks (it is no file of the tree).

use std::collections::HashSet;
use std::io::{BufRead, BufReader};

use anyhow::Context;

use super::changes::{Found, Scope};
use crate::finding::Introduced;
use crate::fragment::{Content, Fragment, ALL_LINES};
use crate::inspect::Inspector;

/// The name a commit message's findings are reported under.
pub const MESSAGE_PATH: &str = "COMMIT_MSG";

/// Inspects the message of every commit `revisions` lists (under `scope.root`, as the history
/// scan lists them), adding its findings to `found`: each secret once, at the first commit whose
/// message holds it.
pub fn scan(scope: &Scope<'_>, revisions: &[String], found: &mut Found) -> anyhow::Result<()> {
    let mut log = crate::git::git_command(scope.root);
    log.args([
        "log",
        "-z",
        "--reverse",
        "--full-history",
        "--no-color",
        "--format=%H%n%B",
        "--end-of-options",
    ])
    .args(revisions)
    .args(["--", "."]);
    let what = format!("git log {} (commit messages)", revisions.join(" "));
    let (stdout, listing) = crate::git::stream(log, &what)?;
    let inspector = Inspector::new(scope.inspect);
    let mut seen = HashSet::new();
    let mut buffer = Vec::new();
    let mut record = Vec::new();
    let mut reader = BufReader::new(stdout);
    loop {
        record.clear();
        if reader
            .read_until(0, &mut record)
            .with_context(|| format!("reading {what}"))?
            == 0
        {
            break;
        }
        if record.last() == Some(&0) {
            record.pop();
        }
        let Some(newline) = memchr::memchr(b'\n', &record) else {
            continue;
        };
        let commit = String::from_utf8_lossy(&record[..newline]).into_owned();
        let fragment = Fragment {
            scan_path: MESSAGE_PATH,
            report_path: MESSAGE_PATH.to_string(),
            content: Content::Bytes(&record[newline + 1..]),
            added: &ALL_LINES,
            name_is_new: false,
        };
        let report = inspector.inspect(&fragment, &mut buffer);
        for mut finding in report.findings {
            if seen.insert((finding.rule, finding.match_hash.clone())) {
                finding.introduced = Some(Introduced {
                    commit: commit.clone(),
                    located_in_commit: true,
                });
                found.findings.push(finding);
            }
        }
    }
    listing.finish()
}
