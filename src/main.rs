//! The `anteater` binary: parse the command line, run one scan, turn the outcome into an exit code.
//!
//! Everything else lives in the library so that tests can drive it; this file stays thin.

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    let cli = anteater::parse();
    match anteater::run(cli) {
        Ok(outcome) => outcome.exit_code(),
        Err(err) => {
            // `{:#}` prints the whole context chain on one line: "config ...: rule ...: regex ...".
            let _ = writeln!(std::io::stderr(), "anteater: error: {err:#}");
            anteater::Outcome::ScanFailed.exit_code()
        }
    }
}
