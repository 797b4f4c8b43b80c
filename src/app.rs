//! Runs the pipeline once: configuration, walk and inspection, reports, outcome. The only module
//! that knows every stage.

use std::time::Instant;

use crate::cli::Cli;
use crate::config::{Config, Targets};
use crate::outcome::Outcome;
use crate::platform_env::PlatformEnv;
use std::io::Write;

use crate::enrich;
use crate::report::console::{self, ConsoleReporter};
use crate::report::github_output::GithubOutputReporter;
use crate::report::sarif::SarifReporter;
use crate::report::{Reporter, ScanReport};
use crate::virustotal::lookup::Progress;
use crate::walk;

/// Scans as `cli` says and reports. `Err` means the scan could not be done at all (exit 2).
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let env = PlatformEnv::from_process()?;
    let config = Config::build(cli, &env)?;

    let results = walk::walk(&config);
    let mut findings = results.findings;
    let mut stats = results.stats;
    let mut virustotal = None;
    if let Some(plan) = &config.virustotal {
        let mut progress = |event: Progress| {
            let _ = writeln!(std::io::stderr(), "{}", console::progress_line(&event));
        };
        let (vt_findings, summary) = enrich::enrich(
            plan,
            &config.rules,
            &results.indicators,
            &results.uploads,
            &mut progress,
        )?;
        findings.extend(vt_findings);
        virustotal = Some(summary);
    }
    if let Targets::Listed { missing, .. } = &config.targets {
        stats.missing = missing.clone();
    }
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.columns, &config.rules.rule(a.rule).id).cmp(&(
            &b.path,
            b.line,
            b.columns,
            &config.rules.rule(b.rule).id,
        ))
    });
    stats.elapsed = started.elapsed();

    let outcome = Outcome::decide(
        findings.iter().map(|f| f.level),
        config.fail_on,
        !stats.unreadable.is_empty(),
    );
    let report = ScanReport {
        rules: &config.rules,
        findings: &findings,
        stats: &stats,
        report_root: &config.report_root,
        fail_on: config.fail_on,
        outcome,
        report_url: config.exceptions.report_url.as_deref(),
        sarif_path: Some(&config.sarif_path),
        virustotal: virustotal.as_ref(),
    };
    // SARIF first: if it cannot be written the run fails (exit 2) before claiming anything.
    SarifReporter::new(&config.sarif_path).report(&report)?;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    ConsoleReporter::new(stdout.lock(), stderr.lock()).report(&report)?;
    if let Some(path) = &env.github_output {
        GithubOutputReporter::new(path).report(&report)?;
    }
    Ok(outcome)
}
