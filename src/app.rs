//! Runs the pipeline once: configuration, walk and inspection, reports, outcome. The only module
//! that knows every stage.

use std::time::Instant;

use crate::cli::{Cli, Oversize};
use crate::config::{Config, Targets};
use crate::outcome::Outcome;
use crate::platform_env::PlatformEnv;
use std::io::Write;

use crate::baseline;
use crate::enrich;
use crate::finding::{sha256_hex, Finding};
use crate::report::console::{self, ConsoleReporter};
use crate::report::github::{AnnotationReporter, CommandPause, StepSummaryReporter};
use crate::report::github_output::GithubOutputReporter;
use crate::report::gitlab::GitlabReporter;
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::sarif::SarifReporter;
use crate::report::{BaselineSummary, Format, OutputOptions, Reporter, ScanReport};
use crate::rules::RuleKind;
use crate::virustotal::lookup::Progress;
use crate::virustotal::verdict::IndicatorKind;
use crate::walk;
use crate::{paths, redact};

/// Scans as `cli` says and reports. `Err` means the scan could not be done at all (exit 2).
pub fn run(cli: Cli) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let env = PlatformEnv::from_process()?;
    // The reporters' options, taken before `Config::build` consumes the command line.
    let output = OutputOptions::from_cli(&cli);
    // Workflow commands (annotations, the pause) go where the runner reads them: stdout, or
    // stderr when stdout must hold nothing but the JSON document.
    let mut commands: Box<dyn Write> = match output.format {
        Format::Console => Box::new(std::io::stdout()),
        Format::Json => Box::new(std::io::stderr()),
    };
    // Everything printed from here on may carry file names, matched text, configuration
    // entries and VirusTotal messages from the change under review: in Actions the runner must not
    // take any of it for a workflow command, so commands stay paused until the annotations.
    let pause = if env.in_github_actions() {
        Some(CommandPause::begin(&mut commands)?)
    } else {
        None
    };
    let mut config = Config::build(cli, &env)?;
    // anteater's own report files are never scanned, like the SARIF log.
    output.exclude_from_scan(&mut config.excluded);

    let mut results = walk::walk(&config);
    if let Some(lines) = &config.changed_lines {
        // --diff: what was already there before the change is not the change's doing.
        let on_changed_line = |path: &str, line: u32| lines.get(path).is_some_and(|l| l.contains(line));
        let rules = &config.rules;
        results.findings.retain(|finding| {
            rules.rule(finding.rule).kind != RuleKind::Content || on_changed_line(&finding.path, finding.line)
        });
        results.indicators.retain(|(path, hit)| {
            hit.indicator.kind == IndicatorKind::File || on_changed_line(path, hit.line)
        });
    }
    let mut findings = results.findings;
    let mut stats = results.stats;
    findings.extend(config_change_findings(&config));
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
    stats.skipped_as_own = config
        .skipped_as_own
        .iter()
        .map(|path| {
            let shown = paths::relative_to(path, &config.report_root);
            if path.is_dir() {
                format!("{shown}/")
            } else {
                shown
            }
        })
        .collect();
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.columns, &config.rules.rule(a.rule).id).cmp(&(
            &b.path,
            b.line,
            b.columns,
            &config.rules.rule(b.rule).id,
        ))
    });
    if let Some(path) = &config.write_baseline {
        baseline::write(path, &findings, &config.rules)?;
    }
    let mut baselined = None;
    if let Some(entries) = &config.baseline {
        let applied = baseline::apply(entries, findings, &config.rules);
        findings = applied.kept;
        baselined = Some(BaselineSummary {
            accepted: applied.baselined,
            stale: applied.stale,
        });
    }
    stats.elapsed = started.elapsed();

    // Text that was not scanned makes the scan incomplete: unreadable files, and files over
    // --max-file-size unless the user chose to skip them (--oversize warn).
    let skipped_oversize = !stats.too_large.is_empty() && config.oversize != Oversize::Warn;
    let outcome = Outcome::decide(
        findings.iter().map(|f| f.level),
        config.fail_on,
        !stats.unreadable.is_empty() || skipped_oversize,
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
        suppressed: stats.suppressed,
        baseline: baselined.as_ref(),
    };
    // SARIF first: if it cannot be written the run fails (exit 2) before claiming anything.
    SarifReporter::new(&config.sarif_path).report(&report)?;
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    match output.format {
        Format::Console => ConsoleReporter::new(stdout.lock(), stderr.lock()).report(&report)?,
        Format::Json => JsonReporter::new(stdout.lock(), stderr.lock()).report(&report)?,
    }
    if let Some(pause) = pause {
        pause.end(&mut commands)?;
        AnnotationReporter::new(&mut commands, env.github_step_summary.is_some()).report(&report)?;
        if let Some(path) = &env.github_step_summary {
            StepSummaryReporter::new(path).report(&report)?;
        }
    }
    if let Some(path) = &output.gitlab_codequality {
        GitlabReporter::new(path).report(&report)?;
    }
    if let Some(path) = &output.junit {
        JunitReporter::new(path).report(&report)?;
    }
    if let Some(path) = &env.github_output {
        GithubOutputReporter::new(path).report(&report)?;
    }
    Ok(outcome)
}

/// One finding per configuration file the change loosened, at the file.
fn config_change_findings(config: &Config) -> Vec<Finding> {
    let Some(rule) = config.rules.index_of("config-changed") else {
        return Vec::new();
    };
    config
        .loosened
        .iter()
        .map(|loosening| {
            let path = paths::relative_to(&loosening.path, &config.report_root);
            let summary = loosening.changes.join("; ");
            Finding {
                rule,
                level: config.rules.rule(rule).severity.level(),
                path,
                line: 1,
                columns: None,
                evidence: redact::evidence(loosening.changes[0].as_bytes(), false),
                match_hash: sha256_hex(summary.as_bytes()),
                detail: Some(redact::escape(&summary)),
            }
        })
        .collect()
}
