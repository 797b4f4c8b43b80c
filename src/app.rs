//! Runs the pipeline once: configuration, walk and inspection, reports, outcome. The only module
//! that knows every stage.

use std::collections::HashMap;
use std::time::Instant;

use crate::cli::Cli;
use crate::config::{Config, Targets};
use crate::decide::outcome::Outcome;
use crate::inspect::Oversize;
use crate::platform_env::PlatformEnv;
use std::io::Write;

use crate::decide::baseline;
use crate::enrich::{Collected, Enricher, Note, Shared};
use crate::finding::{sha256_hex, Finding};
use crate::inspect::indicators::UploadSource;
use crate::inspect::stats::ScanStats;
use crate::inspect::IndicatorHit;
use crate::report::console::{self, ConsoleReporter};
use crate::report::github::{AnnotationReporter, CommandPause, StepSummaryReporter};
use crate::report::github_output::GithubOutputReporter;
use crate::report::gitlab::GitlabReporter;
use crate::report::json::JsonReporter;
use crate::report::junit::JunitReporter;
use crate::report::sarif::SarifReporter;
use crate::report::{stdout_target, BaselineSummary, Format, OutputOptions, Reporter, ScanReport};
use crate::rules::RuleKind;
use crate::source::walk;
use crate::source::{changes, history, index};
use crate::{paths, redact};

/// Scans as `cli` says and reports. `Err` means the scan could not be done at all (exit 2).
pub fn run(mut cli: Cli) -> anyhow::Result<Outcome> {
    let started = Instant::now();
    let env = PlatformEnv::from_process()?;
    let report_on_stdout = stdout_target::claim(&mut cli)?;
    // The reporters' options, taken before `Config::build` consumes the command line.
    let output = OutputOptions::from_cli(&cli);
    check_output_paths(&cli, &env)?;
    // Only a walk of a folder the user named (the tree, or positional paths) skips what git
    // ignores: --patchset, --diff and --staged name their files through git or a list already,
    // and --history walks nothing.
    let git_aware =
        !cli.no_ignore && cli.patchset.is_none() && cli.diff.is_none() && !cli.staged && !cli.history;
    let progress = (!cli.no_progress).then_some(crate::source::progress::Timing {
        after: cli.progress_after,
        every: cli.progress_every.max(std::time::Duration::from_millis(100)),
    });
    // Workflow commands (annotations, the pause) go where the runner reads them: stdout, or
    // stderr when stdout must hold nothing but the JSON document.
    let mut commands: Box<dyn Write> = match output.format {
        Format::Console if !report_on_stdout => Box::new(std::io::stdout()),
        Format::Console | Format::Json => Box::new(std::io::stderr()),
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
    let git_ignored = if git_aware {
        // Scanning more is the safe side: a repository git cannot read is scanned whole.
        crate::source::git_ignored::skip(
            &config.root,
            &config.report_root,
            &config.targets,
            &mut config.excluded,
        )
        .unwrap_or_else(|err| {
            let _ = writeln!(
                std::io::stderr(),
                "anteater: warning: git could not say which files it ignores, so all are scanned: {}",
                redact::escape(&format!("{err:#}"))
            );
            Vec::new()
        })
    } else {
        Vec::new()
    };

    let meter = progress.map(|timing| {
        crate::source::progress::Meter::start(
            &config.targets,
            &config.root,
            config.follow_symlinks,
            config.history.is_some(),
            timing,
        )
    });
    let scanned = scan(&config);
    drop(meter);
    let scanned = scanned?;
    let Scanned {
        mut findings,
        mut stats,
        indicators,
        uploads,
    } = scanned;
    let collected = Collected {
        indicators: &indicators,
        uploads: &uploads,
    };
    // One runtime and one Redis connection for every enricher of the run, opened on first use.
    let shared = Shared::new();
    let virustotal = match &config.virustotal {
        Some(plan) => {
            Some(plan.enrich(&shared, &collected, &config.rules, &mut findings, &mut print_note)?)
        }
        None => None,
    };
    stats.gitleaks_ignored = apply_gitleaks_ignore(&config, &mut findings);
    let (mut findings, baselined) = apply_baseline(&config, sort_findings(&config, findings))?;
    // The last gate before any output: a rule that does not redact can match across a secret.
    // Binaries' and VirusTotal's evidence (a checksum, an indicator that passed the allowlist of
    // what may leave) is anteater's own text, and a checksum is what users allowlist.
    for finding in &mut findings {
        if matches!(
            config.rules.rule(finding.rule).kind,
            RuleKind::Content | RuleKind::FileName | RuleKind::ConfigChange
        ) {
            finding.evidence = redact::mask_secrets(&finding.evidence);
        }
    }
    // After the baseline: only what is reported is worth a request.
    if let Some(plan) = &config.validate {
        let line = plan.enrich(&shared, &collected, &config.rules, &mut findings, &mut print_note)?;
        let _ = writeln!(std::io::stderr(), "anteater: {line}");
    }
    stats.elapsed = started.elapsed();
    stats.git_ignored = git_ignored;
    let outcome = decide(&config, &findings, &stats);

    let report = ScanReport {
        rules: &config.rules,
        findings: &findings,
        stats: &stats,
        report_root: &config.report_root,
        sarif_root: &config.sarif_root,
        fail_on: config.fail_on,
        outcome,
        report_url: config.exceptions.report_url.as_deref(),
        sarif_path: config.sarif_path.as_deref(),
        virustotal: virustotal.as_ref(),
        suppressed: stats.suppressed,
        baseline: baselined.as_ref(),
        sarif_dropped: None,
    };
    write_reports(
        &config,
        &env,
        &output,
        report,
        pause,
        &mut commands,
        report_on_stdout,
    )?;
    Ok(outcome)
}

/// What the scan found, before VirusTotal and the baseline.
struct Scanned {
    findings: Vec<Finding>,
    stats: ScanStats,
    indicators: Vec<(String, IndicatorHit)>,
    uploads: HashMap<String, UploadSource>,
}

/// The sources this run asks for, each through the one inspector: the walk over the targets
/// (cut down to the changed lines in --diff), the index (--staged), what history mode finds; and
/// what the change loosened in anteater's own configuration.
fn scan(config: &Config) -> anyhow::Result<Scanned> {
    let walk_plan = config.walk_plan();
    let mut results = walk::walk(&walk_plan);
    let mut findings = results.findings;
    let mut stats = results.stats;
    let skip = |relative: &str| {
        config.exceptions.ignores_path(relative) || walk_plan.is_excluded(&config.root.join(relative))
    };
    let scope = changes::Scope {
        root: &config.root,
        threads: config.threads,
        inspect: config.inspect_settings(),
        skip: &skip,
    };
    if let Some(base) = &config.staged {
        // The working tree is not walked: the index is all there is, and it is a tree's worth
        // of files, counted as such.
        let found = index::scan(&scope, base)?;
        findings.extend(found.findings);
        results.indicators.extend(found.indicators);
        results.uploads.extend(found.uploads);
        stats.merge(found.stats);
    }
    if let Some(plan) = &config.history {
        let found = history::scan(&scope, &plan.revisions)?;
        stats.commits = Some(found.commits);
        stats.versions = found.stats.files_looked_at();
        stats.unreadable.extend(found.stats.unreadable);
        stats.too_large.extend(found.stats.too_large);
        stats.not_opened.extend(found.stats.not_opened);
        stats.not_opened.sort();
        stats.not_opened.dedup();
        // With the net change, history walks the same added lines again: what the working tree
        // holds is counted, and looked up, once, where the tree has it.
        if !plan.with_net_change {
            stats.suppressed += found.stats.suppressed;
        }
        let in_tree: std::collections::HashSet<(String, String)> = results
            .indicators
            .iter()
            .map(|(path, hit)| (path.clone(), hit.indicator.value.clone()))
            .collect();
        results.indicators.extend(
            found
                .indicators
                .into_iter()
                .filter(|(path, hit)| !in_tree.contains(&(path.clone(), hit.indicator.value.clone()))),
        );
        merge_history(&mut findings, found.findings);
    }
    findings.extend(config_change_findings(config));
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
    Ok(Scanned {
        findings,
        stats,
        indicators: results.indicators,
        uploads: results.uploads,
    })
}

/// What enrichers say while they work goes to stderr.
fn print_note(note: Note) {
    let line = match note {
        Note::Warning(message) => format!("anteater: warning: {message}"),
        Note::VirusTotal(event) => console::progress_line(&event),
    };
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// Findings in report order: by path, line, columns, rule.
fn sort_findings(config: &Config, mut findings: Vec<Finding>) -> Vec<Finding> {
    findings.sort_by(|a, b| {
        (&a.path, a.line, a.columns, &config.rules.rule(a.rule).id).cmp(&(
            &b.path,
            b.line,
            b.columns,
            &config.rules.rule(b.rule).id,
        ))
    });
    findings
}

/// --write-baseline records every finding; --baseline then keeps only the new ones.
fn apply_baseline(
    config: &Config,
    findings: Vec<Finding>,
) -> anyhow::Result<(Vec<Finding>, Option<BaselineSummary>)> {
    if let Some(path) = &config.write_baseline {
        let salt = baseline::salt_for(path, config.baseline.as_ref())?;
        baseline::write(path, &findings, &config.rules, &salt)?;
    }
    let Some(entries) = &config.baseline else {
        return Ok((findings, None));
    };
    let applied = baseline::apply(entries, findings, &config.rules);
    let summary = BaselineSummary {
        accepted: applied.baselined,
        stale: applied.stale,
    };
    Ok((applied.kept, Some(summary)))
}

/// The exit code's reason. Text that was not scanned makes the scan incomplete: unreadable
/// files, and files over --max-file-size unless the user chose to skip them (--oversize warn).
fn decide(config: &Config, findings: &[Finding], stats: &ScanStats) -> Outcome {
    let skipped_oversize = !stats.too_large.is_empty() && config.oversize != Oversize::Warn;
    Outcome::decide(
        findings.iter().map(|f| f.level),
        config.fail_on,
        !stats.unreadable.is_empty() || skipped_oversize,
    )
}

/// Every report this run was asked for. SARIF first: if it cannot be written the run fails
/// (exit 2) before any other report claims anything.
fn write_reports(
    config: &Config,
    env: &PlatformEnv,
    output: &OutputOptions,
    mut report: ScanReport<'_>,
    pause: Option<CommandPause>,
    commands: &mut Box<dyn Write>,
    report_on_stdout: bool,
) -> anyhow::Result<()> {
    if let Some(path) = &config.sarif_path {
        let mut sarif = SarifReporter::new(path, config.sarif_category.clone());
        quiet_if_closed(sarif.report(&report))?;
        report.sarif_dropped = sarif.dropped().cloned();
    }
    let stdout = std::io::stdout();
    let stderr = std::io::stderr();
    // A report on stdout is a document; the console lines then go where warnings go.
    let lines: Box<dyn Write> = if report_on_stdout {
        Box::new(stderr.lock())
    } else {
        Box::new(stdout.lock())
    };
    quiet_if_closed(match output.format {
        Format::Console => ConsoleReporter::new(lines, stderr.lock()).report(&report),
        Format::Json => JsonReporter::new(lines, stderr.lock()).report(&report),
    })?;
    if let Some(pause) = pause {
        quiet_if_closed(pause.end(commands).map_err(Into::into))?;
        quiet_if_closed(
            AnnotationReporter::new(commands, env.github_step_summary.is_some()).report(&report),
        )?;
        if let Some(path) = &env.github_step_summary {
            StepSummaryReporter::new(path).report(&report)?;
        }
    }
    if let Some(path) = &output.gitlab_codequality {
        quiet_if_closed(GitlabReporter::new(path).report(&report))?;
    }
    if let Some(path) = &output.junit {
        quiet_if_closed(JunitReporter::new(path).report(&report))?;
    }
    if let Some(path) = &output.html {
        quiet_if_closed(crate::report::html::HtmlReporter::new(path).report(&report))?;
    }
    if let Some(path) = &env.github_output {
        GithubOutputReporter::new(path)
            .with_reports(
                output.junit.as_deref(),
                output.gitlab_codequality.as_deref(),
                config.write_baseline.as_deref(),
            )
            .report(&report)?;
    }
    Ok(())
}

/// Drops the findings the scanned folder's .gitleaksignore waives by fingerprint (its paths are
/// relative to the scanned folder); how many.
fn apply_gitleaks_ignore(config: &Config, findings: &mut Vec<Finding>) -> usize {
    let Some(list) = &config.gitleaks_ignore else {
        return 0;
    };
    let before = findings.len();
    findings.retain(|finding| {
        let file = paths::relative_to(&config.report_root.join(&finding.path), &config.root);
        let commit = finding.introduced.as_ref().map(|i| i.commit.as_str());
        !list.waives(&file, &config.rules.rule(finding.rule).id, finding.line, commit)
    });
    before - findings.len()
}

/// A report whose reader went away (`anteater | head`) is not a failed scan: the findings
/// still decide the exit code, and the other reports are still written.
fn quiet_if_closed(result: anyhow::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(err) if stdout_target::is_closed_pipe(&err) => Ok(()),
        other => other,
    }
}

/// Adds history's findings to the working tree's: one already found in the working tree (same
/// rule, path and matched text) only learns the commit that added it; the others (removed by a
/// later commit, or history alone) are reported where their commit put them.
fn merge_history(findings: &mut Vec<Finding>, history: Vec<Finding>) {
    let mut in_tree: std::collections::HashMap<(usize, String, String), usize> = findings
        .iter()
        .enumerate()
        .map(|(index, f)| ((f.rule, f.path.clone(), f.match_hash.clone()), index))
        .collect();
    for mut found in history {
        let key = (found.rule, found.path.clone(), found.match_hash.clone());
        match in_tree.get(&key) {
            Some(&index) => {
                if let Some(introduced) = &mut found.introduced {
                    introduced.located_in_commit = false;
                }
                findings[index].introduced = found.introduced;
            }
            None => {
                in_tree.insert(key, findings.len());
                findings.push(found);
            }
        }
    }
}

/// Refuses output paths anteater must not write (devices, sockets, directories, links to
/// nothing) before anything is scanned or written: exit 2, and no report claims anything.
fn check_output_paths(cli: &Cli, env: &PlatformEnv) -> anyhow::Result<()> {
    let outputs = [
        ((!cli.no_sarif).then_some(&cli.sarif), "SARIF"),
        (cli.junit.as_ref(), "JUnit report"),
        (cli.gitlab_codequality.as_ref(), "GitLab Code Quality report"),
        (cli.html.as_ref(), "HTML report"),
        (cli.write_baseline.as_ref(), "baseline"),
        (env.github_step_summary.as_ref(), "GITHUB_STEP_SUMMARY"),
        (env.github_output.as_ref(), "GITHUB_OUTPUT"),
    ];
    for (path, what) in outputs {
        if let Some(path) = path {
            crate::atomic_file::check(path, what)?;
        }
    }
    Ok(())
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
                introduced: None,
                secret: None,
                validation: None,
            }
        })
        .collect()
}
