//! The ways anteater is installed stay in step with the crate: the wheel's pre-commit hook pins
//! the anteater version Cargo.toml builds, and every hook says which pre-commit it needs.
//! (scripts/test-wheel.sh and scripts/test-pre-commit.sh install and run them for real.)

use serde_json::Value;

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

fn read(relative: &str) -> String {
    std::fs::read_to_string(format!("{ROOT}/{relative}"))
        .unwrap_or_else(|err| panic!("reading {relative}: {err}"))
}

fn crate_version() -> String {
    read("Cargo.toml")
        .lines()
        .find_map(|line| line.strip_prefix("version = \""))
        .and_then(|rest| rest.strip_suffix('"'))
        .expect("Cargo.toml's version")
        .to_string()
}

#[test]
fn the_wheel_hook_installs_the_anteater_cargo_builds() {
    let version = crate_version();
    let pyproject = read("pre-commit-mirror/pyproject.toml");
    assert!(
        pyproject.contains(&format!("version = \"{version}\"")),
        "pre-commit-mirror/pyproject.toml is released with anteater {version}"
    );
    assert!(
        pyproject.contains(&format!("dependencies = [\"anteater=={version}\"]")),
        "pre-commit-mirror/pyproject.toml must pin anteater=={version}"
    );
    let hooks: Value = serde_saphyr::from_str(&read("pre-commit-mirror/.pre-commit-hooks.yaml")).unwrap();
    let hook = &hooks[0];
    assert_eq!(hook["id"], "anteater");
    assert_eq!(
        hook["language"], "python",
        "installed from the wheel, no Rust toolchain"
    );
    assert_eq!(hook["entry"], "anteater --staged --no-sarif");
}

/// `stages: [pre-commit]` needs pre-commit 3.2.0; Debian's 3.0.4 failed on it with no hint.
#[test]
fn every_hook_states_the_pre_commit_it_needs() {
    for file in [
        ".pre-commit-hooks.yaml",
        "pre-commit-mirror/.pre-commit-hooks.yaml",
    ] {
        let hooks: Value = serde_saphyr::from_str(&read(file)).unwrap();
        for hook in hooks.as_array().expect("a list of hooks") {
            assert_eq!(
                hook["minimum_pre_commit_version"], "3.2.0",
                "{file}: hook {} uses stages: [pre-commit]",
                hook["id"]
            );
        }
    }
}
