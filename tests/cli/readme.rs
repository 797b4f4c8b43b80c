//! The README's promises point at tests that exist: every test named in "What anteater
//! guarantees" is a test function of this suite.

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn every_guarantee_names_a_test_that_exists() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let start = readme.find("## What anteater guarantees").expect("the section");
    let end = start + readme[start..][3..].find("\n## ").expect("a next section") + 3;
    let section = &readme[start..end];
    // The binary's tests and, below `src/`, the unit tests beside the code.
    let mut sources = String::new();
    let mut dirs = vec![format!("{ROOT}/tests/cli"), format!("{ROOT}/src")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() && path.starts_with(format!("{ROOT}/src")) {
                dirs.push(path.display().to_string());
            } else if path.extension().is_some_and(|e| e == "rs") {
                sources.push_str(&std::fs::read_to_string(path).unwrap());
            }
        }
    }
    let names: Vec<&str> = section
        .split('`')
        .skip(1)
        .step_by(2)
        .filter(|word| {
            word.contains('_')
                && word
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        })
        .collect();
    assert!(names.len() >= 20, "{names:?}");
    for name in names {
        assert!(
            sources.contains(&format!("fn {name}(")),
            "README names `{name}`, which is no test"
        );
    }
}

/// `--help`'s long options (but --help and --version), each with the `ANTEATER_*` variable it
/// documents, if any.
fn help_options() -> Vec<(String, Option<String>)> {
    let dir = crate::common::fixture("clean-project");
    let run = crate::common::anteater(dir.path()).args(&["--help"]).run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    let mut options: Vec<(String, Option<String>)> = Vec::new();
    for line in run.stdout.lines() {
        // clap's long help: an option at 2 (`-h, --help`) or 6 spaces, its text at 10.
        let is_option =
            line.starts_with("      --") || (line.starts_with("  -") && line.get(6..8) == Some("--"));
        let head = line.get(8..).filter(|_| is_option);
        if let Some(head) = head {
            let name: String = head
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || *c == '-')
                .collect();
            options.push((format!("--{name}"), None));
        } else if let Some(rest) = line.trim_start().strip_prefix("[env: ") {
            let variable = rest.split('=').next().unwrap().to_string();
            if let Some(last) = options.last_mut() {
                last.1 = Some(variable);
            }
        }
    }
    options.retain(|(name, _)| name != "--help" && name != "--version");
    assert!(options.len() >= 40, "parsed --help: {options:?}");
    options
}

/// README's section starting at `heading`, up to the next `## `.
fn readme_section(readme: &str, heading: &str) -> String {
    let start = readme
        .find(heading)
        .unwrap_or_else(|| panic!("README has {heading}"));
    let rest = &readme[start..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |end| end + 3);
    rest[..end].to_string()
}

/// Every `--option` and `ANTEATER_*` name in a piece of text.
fn words(text: &str, prefix: &str) -> Vec<String> {
    text.match_indices(prefix)
        .map(|(at, _)| {
            text[at..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_' || prefix.starts_with(*c))
                .collect::<String>()
        })
        .filter(|word| word.len() > prefix.len())
        .collect()
}

/// One truth: every option `anteater --help` lists is in README's usage table (with the
/// variable `--help` gives it), and the action reaches it, as an input of `action.yml` or
/// through `env:` as README's "Options without an input" says; and none of the three names an
/// option that does not exist. The failure lists every gap at once, saying what is missing where.
#[test]
fn help_readme_and_action_agree_on_every_option() {
    let options = help_options();
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let action: serde_json::Value =
        serde_saphyr::from_str(&std::fs::read_to_string(format!("{ROOT}/action.yml")).unwrap())
            .expect("action.yml is YAML");
    let inputs: std::collections::BTreeMap<String, String> = action["runs"]["env"]
        .as_object()
        .expect("action.yml runs.env")
        .iter()
        .map(|(variable, value)| (variable.clone(), value.as_str().unwrap_or_default().to_string()))
        .collect();

    // README's usage table: option cells → the row's variable cell.
    let usage = readme_section(&readme, "## Usage");
    let mut table: Vec<(Vec<String>, String)> = Vec::new();
    for row in usage.lines().filter(|l| l.starts_with("| `--")) {
        let cells: Vec<&str> = row.split(" | ").collect();
        table.push((words(cells[0], "--"), cells.get(1).unwrap_or(&"").to_string()));
    }
    let in_table = |name: &str| table.iter().find(|(names, _)| names.iter().any(|n| n == name));

    let ci = readme_section(&readme, "## Running it in CI");
    let env_only_paragraph = ci
        .split("\n\n")
        .find(|p| p.starts_with("**Options without an input**"))
        .unwrap_or("");
    let env_only = words(env_only_paragraph, "ANTEATER_");

    let mut gaps = Vec::new();
    for (name, variable) in &options {
        match in_table(name) {
            None => gaps.push(format!("{name}: missing from README's usage table (## Usage)")),
            Some((names, cell)) => {
                if let Some(variable) = variable {
                    if names.len() == 1 && !cell.contains(variable.as_str()) {
                        gaps.push(format!(
                            "{name}: README's usage table gives `{}` as its variable, --help {variable}",
                            cell.trim()
                        ));
                    }
                }
            }
        }
        match variable {
            None => gaps.push(format!(
                "{name}: --help gives it no ANTEATER_* variable, so no CI step can set it"
            )),
            Some(variable) => {
                if !inputs.contains_key(variable) && !env_only.contains(variable) {
                    gaps.push(format!(
                        "{name}: no action.yml input passes {variable}, and README's \
                         \"Options without an input\" (## Running it in CI) does not list it"
                    ));
                }
                if inputs.contains_key(variable) && env_only.contains(variable) {
                    gaps.push(format!(
                        "{name}: README's \"Options without an input\" lists {variable}, but \
                         action.yml has an input for it"
                    ));
                }
            }
        }
    }
    let known: Vec<&String> = options.iter().map(|(name, _)| name).collect();
    let variables: Vec<&String> = options.iter().filter_map(|(_, v)| v.as_ref()).collect();
    for (names, _) in &table {
        for name in names.iter().filter(|n| !known.contains(n)) {
            gaps.push(format!(
                "README's usage table documents {name}, which anteater --help does not list"
            ));
        }
    }
    for variable in env_only.iter().filter(|v| !variables.contains(v)) {
        gaps.push(format!(
            "README's \"Options without an input\" lists {variable}, which anteater --help does not give"
        ));
    }
    for variable in inputs.keys().filter(|v| v.starts_with("ANTEATER_")) {
        if !variables.contains(&variable) {
            gaps.push(format!(
                "action.yml passes {variable} ({}), which anteater --help does not give",
                inputs[variable]
            ));
        }
    }
    assert!(
        env_only.len() >= 5,
        "README's \"Options without an input\" paragraph: {env_only:?}"
    );
    assert!(
        gaps.is_empty(),
        "anteater --help, README and action.yml disagree:\n  {}",
        gaps.join("\n  ")
    );
}
