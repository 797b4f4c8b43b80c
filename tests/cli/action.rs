//! The GitHub Action (`action.yml`) against the binary and the container's entrypoint: every
//! input reaches anteater only through `env:`, as a variable the binary really reads, with values
//! it accepts; every declared output is written, by anteater or by `entrypoint.sh`, exactly once.
//! Also: the workflow and the CI examples that use the action are valid YAML and use only inputs
//! and variables that exist.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::process::Command;

use serde_json::Value;

use crate::common::{anteater, fixture};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The inputs the action promises (the README lists them too).
const INPUTS: &[&str] = &[
    "path",
    "patchset",
    "diff",
    "history",
    "exceptions_from",
    "project",
    "config",
    "flag_list",
    "ignore_list",
    "ruleset",
    "test_paths",
    "no_test_demotion",
    "strict_waivers",
    "binaries",
    "ips",
    "urls",
    "bincheck",
    "sarif_category",
    "no_upload",
    "baseline",
    "write_baseline",
    "exit_zero",
    "format",
    "junit",
    "gitlab_codequality",
    "max_file_size",
    "oversize",
    "threads",
    "sarif_file",
    "fail_on",
    "validate",
    "validate_cache_ttl",
    "vt_rate",
    "vt_daily_quota",
    "vt_cache_ttl",
    "vt_cache_file",
    "vt_min_detections",
    "vt_fail_closed",
    "vt_deadline",
    "redis_url",
    "vt_api_key",
];

const OUTPUTS: &[&str] = &[
    "sarif_file",
    "findings",
    "junit_file",
    "gitlab_codequality_file",
    "baseline_file",
    "exit_code",
];

fn read(relative: &str) -> String {
    std::fs::read_to_string(Path::new(ROOT).join(relative))
        .unwrap_or_else(|err| panic!("reading {relative}: {err}"))
}

fn yaml(relative: &str) -> Value {
    serde_saphyr::from_str::<Value>(&read(relative))
        .unwrap_or_else(|err| panic!("{relative} is not valid YAML: {err}"))
}

fn action() -> Value {
    yaml("action.yml")
}

fn keys(map: &Value) -> BTreeSet<String> {
    map.as_object().expect("a mapping").keys().cloned().collect()
}

/// input name → the environment variable `runs.env` passes it in. Each value must be exactly
/// `${{ inputs.NAME }}`: nothing else is spliced in.
fn input_variables(action: &Value) -> BTreeMap<String, String> {
    let mut map = BTreeMap::new();
    for (variable, value) in action["runs"]["env"].as_object().expect("runs.env") {
        let value = value.as_str().expect("env values are strings");
        let input = value
            .strip_prefix("${{ inputs.")
            .and_then(|rest| rest.strip_suffix(" }}"))
            .unwrap_or_else(|| panic!("runs.env.{variable} is `{value}`, not `${{{{ inputs.NAME }}}}`"));
        let previous = map.insert(input.to_string(), variable.clone());
        assert!(previous.is_none(), "input {input} is passed twice");
    }
    map
}

/// The `ANTEATER_*` names `--help` documents as `[env: NAME=]`.
fn documented_variables() -> (BTreeSet<String>, String) {
    let dir = fixture("clean-project");
    let run = anteater(dir.path()).args(&["--help"]).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    let names = run
        .stdout
        .split("[env: ")
        .skip(1)
        .map(|rest| rest.split('=').next().unwrap().to_string())
        .collect();
    (names, run.stdout)
}

#[test]
fn the_action_is_a_docker_action_built_from_the_dockerfile() {
    let action = action();
    assert_eq!(action["runs"]["using"], "docker");
    assert_eq!(action["runs"]["image"], "Dockerfile");
    assert!(Path::new(ROOT).join("Dockerfile").is_file());
    for key in ["name", "description", "author"] {
        assert!(action[key].as_str().is_some_and(|v| !v.is_empty()), "{key}");
    }
    assert!(action["branding"]["icon"].is_string() && action["branding"]["color"].is_string());
    let dockerfile = read("Dockerfile");
    assert!(dockerfile.contains("ENTRYPOINT [\"/usr/local/bin/entrypoint.sh\"]"));
    assert!(dockerfile.contains("COPY entrypoint.sh /usr/local/bin/entrypoint.sh"));
}

#[test]
fn every_input_is_passed_through_env_only() {
    let action = action();
    let inputs = keys(&action["inputs"]);
    let promised: BTreeSet<String> = INPUTS.iter().map(|s| s.to_string()).collect();
    assert_eq!(inputs, promised, "the action's inputs");
    for (name, input) in action["inputs"].as_object().unwrap() {
        assert!(
            name.chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_'),
            "input {name} is not snake_case (a hyphen would make INPUT_X-Y unusable in sh)"
        );
        assert!(
            input["description"].as_str().is_some_and(|d| !d.is_empty()),
            "{name}"
        );
        assert!(
            input["default"].is_string(),
            "input {name} needs a string default"
        );
        assert_ne!(input["required"], true, "a bare `uses:` must work");
    }

    let variables = input_variables(&action);
    assert_eq!(variables.keys().cloned().collect::<BTreeSet<_>>(), promised);
    for (input, variable) in &variables {
        match input.as_str() {
            // The one exception: anteater reads its VirusTotal key from VT_API_KEY.
            "vt_api_key" => assert_eq!(variable, "VT_API_KEY"),
            "sarif_file" => assert_eq!(variable, "ANTEATER_SARIF"),
            _ => assert_eq!(variable, &format!("ANTEATER_{}", input.to_uppercase())),
        }
    }

    // No input reaches a command line: only runs.env mentions inputs, and nothing overrides the
    // image's entrypoint or command.
    let runs = action["runs"].as_object().unwrap();
    for (key, value) in runs {
        if key != "env" {
            assert!(
                !value.to_string().contains("inputs."),
                "runs.{key} uses an input: {value}"
            );
        }
    }
    for key in ["args", "entrypoint", "pre-entrypoint", "post-entrypoint"] {
        assert!(!runs.contains_key(key), "runs.{key}: inputs go through env: only");
    }
    // And in the text, every `${{ inputs.` sits on a runs.env line.
    for line in read("action.yml").lines() {
        if line.contains("inputs.") && line.contains("${{") {
            let (variable, value) = line.trim().split_once(": ").expect("a key: value line");
            let input = value
                .strip_prefix("${{ inputs.")
                .and_then(|rest| rest.strip_suffix(" }}"))
                .unwrap_or_else(|| panic!("an input used outside runs.env: {line}"));
            assert_eq!(variables.get(input), Some(&variable.to_string()), "{line}");
        }
    }
}

#[test]
fn every_input_maps_to_an_option_the_binary_reads() {
    let (documented, help) = documented_variables();
    let variables = input_variables(&action());
    for (input, variable) in &variables {
        if variable == "VT_API_KEY" {
            assert!(help.contains("VT_API_KEY"), "--help documents VT_API_KEY");
        } else {
            assert!(
                documented.contains(variable),
                "input {input} is passed as {variable}, which anteater does not read"
            );
        }
    }
}

#[test]
fn the_defaults_alone_make_a_useful_scan() {
    let action = action();
    let variables = input_variables(&action);
    // A bare `uses:` on a clean project: every input at its default, passed as the runner would.
    let dir = fixture("clean-project");
    let mut run = anteater(dir.path());
    for (input, variable) in &variables {
        run = run.env(variable, action["inputs"][input]["default"].as_str().unwrap());
    }
    let run = run.run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.sarif.is_some(), "the default sarif_file is written");
    assert!(dir.path().join("anteater.sarif").is_file());

    // The same defaults on the planted findings: the gate fails.
    let dir = fixture("anteater-original");
    let mut run = anteater(dir.path());
    for (input, variable) in &variables {
        let value = match input.as_str() {
            "path" => "tests/testproject",
            "project" => "testproject",
            _ => action["inputs"][input]["default"].as_str().unwrap(),
        };
        run = run.env(variable, value);
    }
    let run = run.run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    assert_eq!(run.results().len(), 7);
}

#[test]
fn every_input_accepts_the_values_its_description_gives() {
    let variables = input_variables(&action());
    // A value for every input that needs no network (ips, urls and bincheck would call
    // VirusTotal when true; their variables are proven by --help above).
    let samples: BTreeMap<&str, &str> = BTreeMap::from([
        ("path", "tests/testproject"),
        ("patchset", "patchset.txt"),
        // Exclusive with patchset and needs a git repository: tests/cli/diff.rs drives it.
        ("diff", ""),
        // Exclusive with patchset (even when `false`, hence the empty default): tests/cli/history.rs
        // drives it.
        ("history", ""),
        ("project", "testproject"),
        ("config", "anteater.conf"),
        ("flag_list", "anteater_files/flag_list.yaml"),
        ("ignore_list", "anteater_files/ignore_list.yaml"),
        ("ruleset", "default"),
        ("test_paths", "^vendored/|^third_party/"),
        ("no_test_demotion", "true"),
        ("strict_waivers", "true"),
        ("binaries", "true"),
        ("ips", "false"),
        ("urls", "false"),
        ("bincheck", "false"),
        ("no_upload", "true"),
        ("exceptions_from", "head"),
        ("baseline", ""),
        ("write_baseline", "baseline.json"),
        ("exit_zero", "false"),
        ("format", "console"),
        ("junit", "out.junit.xml"),
        ("gitlab_codequality", "out.codequality.json"),
        ("max_file_size", "10MiB"),
        ("oversize", "warn"),
        ("threads", "2"),
        ("sarif_file", "out.sarif"),
        ("sarif_category", "backend"),
        ("fail_on", "never"),
        // Would call providers when true (tests/cli/validate.rs drives it against mocks).
        ("validate", "false"),
        ("validate_cache_ttl", "30m"),
        ("vt_rate", "1000/1m"),
        ("vt_daily_quota", "500"),
        ("vt_cache_ttl", "12h"),
        ("vt_cache_file", ".anteater-vt-cache.json"),
        ("vt_min_detections", "2"),
        ("vt_fail_closed", "true"),
        ("vt_deadline", "5m"),
        ("redis_url", "redis://127.0.0.1:9"),
        ("vt_api_key", "not-a-real-key"),
    ]);
    assert_eq!(
        samples.keys().map(|s| s.to_string()).collect::<BTreeSet<_>>(),
        variables.keys().cloned().collect()
    );
    let dir = fixture("anteater-original");
    std::fs::write(dir.path().join("patchset.txt"), "python/run.py\n").unwrap();
    let mut run = anteater(dir.path());
    for (input, variable) in &variables {
        run = run.env(variable, samples[input.as_str()]);
    }
    let run = run.run();
    // fail_on never: findings, and still 0. The SARIF went where sarif_file said.
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(dir.path().join("out.sarif").is_file(), "{}", run.all_output());
    assert!(!dir.path().join("anteater.sarif").exists());
    for report in ["out.junit.xml", "out.codequality.json", "baseline.json"] {
        assert!(
            dir.path().join(report).is_file(),
            "{report}: {}",
            run.all_output()
        );
    }
    let findings = run.results().len();
    assert!(
        findings > 0,
        "the patchset's file has findings: {}",
        run.all_output()
    );
    for result in run.results() {
        let uri = result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap();
        assert!(
            uri.ends_with("python/run.py"),
            "only the patchset is scanned: {uri}"
        );
    }
    let run_log = &run.sarif.as_ref().unwrap()["runs"][0];
    assert_eq!(run_log["automationDetails"]["id"], "backend/", "sarif_category");
}

/// `name=` prefixes written with `writeln!(file, "name=...")` in anteater's GITHUB_OUTPUT reporter
/// (however rustfmt wraps the call).
fn names_written_by_anteater_source() -> BTreeSet<String> {
    read("src/report/github_output.rs")
        .split("writeln!(")
        .skip(1)
        .map(|call| {
            let format = call.split('"').nth(1).expect("writeln!(file, \"name=...\")");
            format.split('=').next().unwrap().to_string()
        })
        .collect()
}

/// `name=` prefixes the entrypoint appends to `$GITHUB_OUTPUT`.
fn names_written_by_entrypoint_source() -> BTreeSet<String> {
    read("entrypoint.sh")
        .lines()
        .filter(|line| line.contains(">>\"$GITHUB_OUTPUT\"") || line.contains(">> \"$GITHUB_OUTPUT\""))
        .map(|line| {
            let format = line.split('\'').nth(1).expect("printf 'name=%s\\n'");
            format.split('=').next().unwrap().to_string()
        })
        .collect()
}

fn output_names(file: &Path) -> Vec<String> {
    std::fs::read_to_string(file)
        .unwrap()
        .lines()
        .map(|line| line.split('=').next().unwrap().to_string())
        .collect()
}

#[test]
fn every_output_is_written_by_anteater_or_the_entrypoint() {
    let declared = keys(&action()["outputs"]);
    let expected: BTreeSet<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
    assert_eq!(declared, expected);
    for name in &declared {
        assert!(action()["outputs"][name]["description"].is_string(), "{name}");
    }
    let by_anteater = names_written_by_anteater_source();
    let by_entrypoint = names_written_by_entrypoint_source();
    assert_eq!(by_entrypoint, BTreeSet::from(["exit_code".to_string()]));
    assert!(
        by_anteater.is_disjoint(&by_entrypoint),
        "written twice: {by_anteater:?} {by_entrypoint:?}"
    );
    let all: BTreeSet<String> = by_anteater.union(&by_entrypoint).cloned().collect();
    assert_eq!(all, declared, "outputs declared vs written");

    // The binary writes what its source says.
    let dir = fixture("clean-project");
    let output = dir.path().join("github-output");
    let run = anteater(dir.path())
        .env("GITHUB_OUTPUT", output.to_str().unwrap())
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    let written: BTreeSet<String> = output_names(&output).into_iter().collect();
    assert_eq!(written, by_anteater);
}

/// The entrypoint, run as GitHub runs the container (minus Redis: a shared one is "configured",
/// so it starts none and this test needs no redis-server), writes every output exactly once.
#[cfg(unix)]
#[test]
fn the_entrypoint_completes_the_outputs() {
    let binary = Path::new(env!("CARGO_BIN_EXE_anteater"));
    let path = format!(
        "{}:{}",
        binary.parent().unwrap().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let workspace = fixture("anteater-original");
    let elsewhere = tempfile::tempdir().unwrap();
    let output = elsewhere.path().join("github-output");
    let mut command = Command::new("sh");
    command
        .arg(Path::new(ROOT).join("entrypoint.sh"))
        .current_dir(elsewhere.path());
    for (name, _) in std::env::vars() {
        if name.starts_with("ANTEATER_")
            || name.starts_with("GITHUB_")
            || name.starts_with("VT_")
            || name == "REDIS_URL"
        {
            command.env_remove(name);
        }
    }
    let status = command
        .env("PATH", path)
        .env("GITHUB_ACTIONS", "true")
        .env("GITHUB_WORKSPACE", workspace.path())
        .env("GITHUB_OUTPUT", &output)
        .env("ANTEATER_REDIS_URL", "redis://127.0.0.1:9")
        .env("ANTEATER_PROJECT", "testproject")
        .env("ANTEATER_PATH", "tests/testproject")
        .env("ANTEATER_PATCHSET", "")
        .output()
        .unwrap();
    let shown = format!(
        "{}\n{}",
        String::from_utf8_lossy(&status.stdout),
        String::from_utf8_lossy(&status.stderr)
    );
    assert_eq!(status.status.code(), Some(1), "{shown}");
    assert!(
        workspace.path().join("anteater.sarif").is_file(),
        "ran in GITHUB_WORKSPACE: {shown}"
    );
    let mut names = output_names(&output);
    names.sort();
    let mut expected: Vec<String> = OUTPUTS.iter().map(|s| s.to_string()).collect();
    expected.sort();
    assert_eq!(names, expected, "each output once");
    let text = std::fs::read_to_string(&output).unwrap();
    assert!(text.lines().any(|l| l == "exit_code=1"), "{text}");
    assert!(text.lines().any(|l| l == "findings=7"), "{text}");
}

/// Steps in a workflow that use this action: `uses: ./` or `uses: anteater/anteater@…`.
fn action_steps(workflow: &Value) -> Vec<&Value> {
    let mut steps = Vec::new();
    for job in workflow["jobs"].as_object().expect("jobs").values() {
        for step in job["steps"].as_array().expect("steps") {
            let uses = step["uses"].as_str().unwrap_or_default();
            if uses == "./" || uses.starts_with("anteater/anteater@") {
                steps.push(step);
            }
        }
    }
    steps
}

#[test]
fn workflows_and_examples_use_the_action_as_declared() {
    let action = action();
    let inputs = keys(&action["inputs"]);
    let variables: BTreeSet<String> = input_variables(&action).into_values().collect();

    let test_workflow = yaml(".github/workflows/test-action.yml");
    assert!(
        action_steps(&test_workflow).len() >= 2,
        "the test workflow runs `uses: ./`"
    );
    for file in [
        ".github/workflows/test-action.yml",
        "ci-examples/github/anteater-gate.yml",
    ] {
        for step in action_steps(&yaml(file)) {
            for key in step["with"].as_object().into_iter().flatten().map(|(k, _)| k) {
                assert!(
                    inputs.contains(key),
                    "{file}: `{key}` is not an input of the action"
                );
            }
        }
    }

    // The gate uploads its SARIF with a category, even when the gate failed.
    let gate = yaml("ci-examples/github/anteater-gate.yml");
    assert_eq!(gate["permissions"]["security-events"], "write");
    let steps = gate["jobs"]["anteater"]["steps"].as_array().unwrap();
    let upload = steps
        .iter()
        .find(|s| s["uses"].as_str().unwrap_or_default().contains("upload-sarif"))
        .expect("an upload-sarif step");
    assert!(upload["with"]["category"].is_string());
    assert!(upload["if"].as_str().unwrap().contains("!cancelled()"));

    // The prebuilt-image variant passes the same variables the action does.
    let prebuilt = yaml("ci-examples/github/anteater-gate-prebuilt-image.yml");
    let steps = prebuilt["jobs"]["anteater"]["steps"].as_array().unwrap();
    let step = steps
        .iter()
        .find(|s| s["uses"].as_str().unwrap_or_default().starts_with("docker://"))
        .expect("a docker:// step");
    for variable in keys(&step["env"]) {
        assert!(
            variables.contains(&variable),
            "{variable} is not what the action passes"
        );
    }

    let gitlab = yaml("ci-examples/gitlab/.gitlab-ci.yml");
    assert!(gitlab["anteater"]["artifacts"]["paths"]
        .as_array()
        .unwrap()
        .contains(&Value::from("anteater.sarif")));
    // The reports GitLab ingests are the files the job tells anteater to write.
    let job = &gitlab["anteater"];
    assert_eq!(
        job["artifacts"]["reports"]["codequality"],
        job["variables"]["ANTEATER_GITLAB_CODEQUALITY"]
    );
    assert_eq!(
        job["artifacts"]["reports"]["junit"],
        job["variables"]["ANTEATER_JUNIT"]
    );
    // GitLab: cancelled by newer pipelines, not held back by earlier stages.
    assert_eq!(job["interruptible"], true);
    assert_eq!(job["needs"], serde_json::json!([]));
    let jenkinsfile = read("ci-examples/jenkins/Jenkinsfile");
    // Jenkins: runs without a VirusTotal credential, publishes JUnit, gates change requests.
    assert!(!jenkinsfile
        .lines()
        .any(|l| l.trim_start().starts_with("withCredentials")));
    assert!(jenkinsfile.contains("junit testResults: 'anteater-junit.xml'"));
    assert!(jenkinsfile.contains("ANTEATER_JUNIT = 'anteater-junit.xml'"));
    assert!(jenkinsfile.contains("env.ANTEATER_DIFF = env.CHANGE_ID ? 'auto' : ''"));
    assert!(jenkinsfile
        .contains("recordIssues(enabledForFailure: true, tools: [sarif(pattern: 'anteater.sarif')])"));
    for file in [
        "ci-examples/github/anteater-gate.yml",
        "ci-examples/github/anteater-gate-prebuilt-image.yml",
        "ci-examples/gitlab/.gitlab-ci.yml",
        "ci-examples/jenkins/Jenkinsfile",
    ] {
        let text = read(file);
        assert!(
            text.contains("VT_API_KEY"),
            "{file} says where the VirusTotal key comes from"
        );
        assert!(text.contains("REDIS_URL"), "{file} says how to share one Redis");
    }
}

#[test]
fn the_readme_lists_every_input_and_output() {
    let readme = read("README.md");
    for input in INPUTS {
        assert!(
            readme.contains(&format!("| `{input}` |")),
            "README's input table lacks `{input}`"
        );
    }
    for output in OUTPUTS {
        assert!(
            readme.contains(&format!("`{output}`")),
            "README names output `{output}`"
        );
    }
}

/// How every GitHub example chooses the scan: the diff gate on pull requests, everything on
/// pushes to the default branch.
const DIFF_ON_PULL_REQUESTS: &str = "${{ github.event_name == 'pull_request' && 'auto' || '' }}";

/// The YAML blocks of README's "Running it in CI" section that use the action.
fn readme_action_snippets() -> Vec<Value> {
    let readme = read("README.md");
    let start = readme.find("## Running it in CI").expect("the section");
    let section = &readme[start..];
    let section = &section[..section[3..].find("\n## ").map_or(section.len(), |end| end + 3)];
    section
        .split("```yaml\n")
        .skip(1)
        .filter_map(|block| block.split("```").next())
        .filter(|block| block.contains("uses: anteater/anteater@"))
        .map(|block| {
            serde_saphyr::from_str::<Value>(block)
                .unwrap_or_else(|err| panic!("README's snippet is not valid YAML: {err}\n{block}"))
        })
        .collect()
}

/// A GitHub workflow (or README's snippet: `on:` and `steps:` at the top) is the gate people
/// copy: pull requests and pushes to main trigger it, the checkout has the history `--diff`
/// needs, and the anteater step (the action or the image) runs the diff gate on pull requests
/// and a full scan otherwise.
fn assert_is_the_diff_gate(name: &str, workflow: &Value) {
    let on = &workflow["on"];
    assert!(on.get("pull_request").is_some(), "{name}: runs on pull requests");
    assert!(
        on["push"]["branches"]
            .as_array()
            .is_some_and(|b| b.contains(&Value::from("main"))),
        "{name}: scans the default branch in full on pushes: {on}"
    );
    let steps: Vec<&Value> = match workflow["jobs"].as_object() {
        Some(jobs) => jobs
            .values()
            .flat_map(|job| job["steps"].as_array().unwrap())
            .collect(),
        None => workflow["steps"].as_array().expect("steps").iter().collect(),
    };
    let checkout = steps
        .iter()
        .find(|s| {
            s["uses"]
                .as_str()
                .unwrap_or_default()
                .starts_with("actions/checkout@")
        })
        .unwrap_or_else(|| panic!("{name}: a checkout step"));
    assert_eq!(
        checkout["with"]["fetch-depth"], 0,
        "{name}: the checkout keeps the history --diff needs"
    );
    let gate = steps
        .iter()
        .find(|s| {
            let uses = s["uses"].as_str().unwrap_or_default();
            uses.starts_with("anteater/anteater@") || uses.starts_with("docker://ghcr.io/anteater/")
        })
        .unwrap_or_else(|| panic!("{name}: an anteater step"));
    let diff = gate["with"]["diff"]
        .as_str()
        .or(gate["env"]["ANTEATER_DIFF"].as_str());
    assert_eq!(
        diff,
        Some(DIFF_ON_PULL_REQUESTS),
        "{name}: the anteater step runs --diff auto on pull requests only"
    );
}

#[test]
fn every_pull_request_example_runs_the_diff_gate_with_the_history_it_needs() {
    let snippets = readme_action_snippets();
    assert_eq!(snippets.len(), 1, "README shows one action snippet");
    assert_is_the_diff_gate("README's action snippet", &snippets[0]);
    for file in [
        "ci-examples/github/anteater-gate.yml",
        "ci-examples/github/anteater-gate-prebuilt-image.yml",
    ] {
        assert_is_the_diff_gate(file, &yaml(file));
    }

    // GitLab: merge requests with --diff auto and the whole history; the default branch in full.
    let gitlab = yaml("ci-examples/gitlab/.gitlab-ci.yml");
    let job = &gitlab["anteater"];
    assert_eq!(job["variables"]["GIT_DEPTH"], "0", "GitLab: a full clone");
    let script = job["script"].to_string();
    assert!(
        script.contains("CI_MERGE_REQUEST_DIFF_BASE_SHA") && script.contains("ANTEATER_DIFF=auto"),
        "GitLab: merge requests run --diff auto: {script}"
    );
    assert!(
        !job["variables"]
            .as_object()
            .unwrap()
            .contains_key("ANTEATER_DIFF"),
        "GitLab: the default branch is scanned in full"
    );
    let rules = job["rules"].to_string();
    for trigger in ["merge_request_event", "$CI_DEFAULT_BRANCH"] {
        assert!(rules.contains(trigger), "GitLab: runs on {trigger}: {rules}");
    }

    // Jenkins: change requests with --diff auto, branch builds in full; the clone must hold the
    // target branch, and the file says how.
    let jenkinsfile = read("ci-examples/jenkins/Jenkinsfile");
    assert!(jenkinsfile.contains("env.ANTEATER_DIFF = env.CHANGE_ID ? 'auto' : ''"));
    assert!(jenkinsfile.contains("no shallow clone"));
}

/// The lines of a Dockerfile from its `runtime-files` stage (`FROM debian:… AS runtime-files`,
/// which collects the runtime's files) to its end (the `FROM scratch` runtime stage), without
/// comments and blank lines, with the line that copies the binary in left out.
fn runtime_stage(relative: &str) -> Vec<String> {
    let text = read(relative);
    let from = text
        .find("FROM debian:bookworm-slim AS runtime-files")
        .unwrap_or_else(|| panic!("{relative} has a runtime-files stage on Debian"));
    text[from..]
        .lines()
        .map(str::trim_end)
        .filter(|line| !line.is_empty() && !line.trim_start().starts_with('#'))
        .filter(|line| !line.contains("/usr/local/bin/anteater") && !line.starts_with("ARG TARGETARCH"))
        .map(str::to_string)
        .collect()
}

#[test]
fn the_published_image_is_the_dockerfiles_runtime_stage() {
    assert_eq!(
        runtime_stage(".github/release/Dockerfile"),
        runtime_stage("Dockerfile"),
        "the release image must ship what the Dockerfile ships"
    );
    let release = read(".github/release/Dockerfile");
    assert!(release.contains("COPY anteater-linux-${TARGETARCH} /usr/local/bin/anteater"));
    // The image is the collected files and nothing else: its last stage starts from scratch.
    for relative in ["Dockerfile", ".github/release/Dockerfile"] {
        let stage = runtime_stage(relative);
        let last = stage.iter().rposition(|line| line.starts_with("FROM ")).unwrap();
        assert_eq!(stage[last], "FROM scratch", "{relative}: the runtime stage");
        assert_eq!(
            stage[last + 1],
            "COPY --from=runtime-files /rootfs /",
            "{relative}: the runtime stage"
        );
    }
}

/// `uses:` references of every workflow and GitHub example.
fn uses_references() -> Vec<(String, String)> {
    let mut found = Vec::new();
    for dir in [".github/workflows", "ci-examples/github"] {
        for entry in std::fs::read_dir(Path::new(ROOT).join(dir)).unwrap() {
            let path = entry.unwrap().path();
            let relative = path.strip_prefix(ROOT).unwrap().display().to_string();
            for line in read(&relative).lines() {
                let line = line.trim_start().trim_start_matches("- ");
                if let Some(reference) = line.strip_prefix("uses: ") {
                    found.push((relative.clone(), reference.trim().to_string()));
                }
            }
        }
    }
    found
}

#[test]
fn every_third_party_action_is_pinned_by_commit_sha() {
    let references = uses_references();
    assert!(references.len() > 10, "{references:?}");
    for (file, reference) in references {
        if reference == "./" || reference.starts_with("docker://") {
            continue;
        }
        // The example users copy names the release tag, with the SHA to put there explained.
        if reference.contains("zizmor: ignore[unpinned-uses]") {
            assert!(file.starts_with("ci-examples/"), "{file}: {reference}");
            continue;
        }
        let (_, version) = reference
            .split_once('@')
            .unwrap_or_else(|| panic!("{file}: `{reference}` names no version"));
        let sha = version.split_whitespace().next().unwrap();
        assert!(
            sha.len() == 40 && sha.bytes().all(|b| b.is_ascii_hexdigit()),
            "{file}: `{reference}` is not pinned by a commit SHA"
        );
        assert!(
            version.contains("# v"),
            "{file}: `{reference}` says which version the SHA is"
        );
    }
}

#[test]
fn the_release_workflow_publishes_what_the_examples_use() {
    let release = yaml(".github/workflows/release.yml");
    assert_eq!(
        release["permissions"],
        serde_json::json!({}),
        "no default permissions"
    );
    let text = read(".github/workflows/release.yml");
    for needed in [
        "platforms: linux/amd64,linux/arm64",
        "provenance: mode=max",
        "sbom: true",
        "cosign sign --yes",
        "cosign sign-blob",
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "aarch64-apple-darwin",
        "type=semver,pattern={{major}}",
        "image: docker://$IMAGE@$DIGEST",
    ] {
        assert!(text.contains(needed), "release.yml: {needed}");
    }
    // Each job states its own permissions; only the ones that publish may write.
    for (name, job) in release["jobs"].as_object().unwrap() {
        assert!(
            job["permissions"].is_object(),
            "job {name} states its permissions"
        );
    }
    // The examples use the image and the tags the release publishes.
    for file in [
        "ci-examples/github/anteater-gate-prebuilt-image.yml",
        "ci-examples/gitlab/.gitlab-ci.yml",
        "ci-examples/jenkins/Jenkinsfile",
    ] {
        assert!(read(file).contains("ghcr.io/anteater/anteater:1"), "{file}");
    }
}

/// The ways to install without Rust stay wired to what the release publishes: wheels carrying
/// the binary for every platform the issue names (built by maturin from pyproject.toml, which
/// must stay a `bindings = "bin"` project), published by trusted publishing, and archives at
/// the names Cargo.toml's binstall metadata asks for, a Windows one included.
#[test]
fn the_release_publishes_wheels_and_what_cargo_binstall_fetches() {
    let pyproject = read("pyproject.toml");
    for needed in [
        "build-backend = \"maturin\"",
        "bindings = \"bin\"",
        "name = \"anteater\"",
        "dynamic = [\"version\"]",
    ] {
        assert!(pyproject.contains(needed), "pyproject.toml: {needed}");
    }

    let release = yaml(".github/workflows/release.yml");
    let text = read(".github/workflows/release.yml");
    let targets = |job: &str| -> Vec<String> {
        release["jobs"][job]["strategy"]["matrix"]["include"]
            .as_array()
            .unwrap_or_else(|| panic!("release.yml: job {job} has a matrix"))
            .iter()
            .map(|entry| entry["target"].as_str().unwrap().to_string())
            .collect()
    };
    let wheels = targets("wheels");
    for target in [
        "x86_64-unknown-linux-gnu",
        "aarch64-unknown-linux-gnu",
        "x86_64-unknown-linux-musl",
        "aarch64-unknown-linux-musl",
        "aarch64-apple-darwin",
        "x86_64-apple-darwin",
        "x86_64-pc-windows-msvc",
    ] {
        assert!(wheels.iter().any(|t| t == target), "no wheel for {target}");
    }
    assert!(text.contains("maturin build --release --locked --target \"$TARGET\""));
    assert!(text.contains("/uv\" publish --trusted-publishing always dist/*"));
    assert_eq!(
        release["jobs"]["pypi"]["permissions"],
        serde_json::json!({"id-token": "write"}),
        "publishing to PyPI needs an OIDC token and nothing else"
    );

    let binaries = targets("binaries");
    assert!(
        binaries.iter().any(|t| t == "x86_64-pc-windows-msvc"),
        "a Windows binary"
    );
    let cargo = read("Cargo.toml");
    assert!(cargo.contains("[package.metadata.binstall]"));
    assert!(cargo.contains(
        "pkg-url = \"{ repo }/releases/download/v{ version }/anteater-v{ version }-{ target }{ archive-suffix }\""
    ));
    assert!(cargo.contains("[package.metadata.binstall.overrides.x86_64-pc-windows-msvc]\npkg-fmt = \"zip\""));
    // The archives are named as that URL says (the tag is v{ version }), the binary at the top.
    assert!(text.contains("dist/anteater-${GITHUB_REF_NAME}-${TARGET}.tar.gz"));
    assert!(text.contains("dist/anteater-${GITHUB_REF_NAME}-${TARGET}.zip\" anteater.exe"));
    assert!(text.contains("-C \"target/$TARGET/release\" anteater -C"));
}
