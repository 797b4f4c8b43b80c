//! Test, fixture, example and documentation paths. Real secrets do turn up there, so they are
//! scanned like any other path, but most findings there are test values: rules that opt in
//! (the built-in default ruleset) report them one level lower (an error becomes a warning).

use anyhow::Context;
use regex::Regex;

use crate::finding::Level;

/// Directories and file names that hold tests, fixtures, examples or documentation, searched
/// case-insensitively in the '/'-separated path relative to the scan root.
pub const DEFAULT: &str = concat!(
    // Directories.
    r"(?:^|/)(?:tests?|testdata|test[-_]?data|testing|test[-_]?resources|test[-_]?fixtures|",
    r"__tests__|__mocks__|mocks?|spec|specs|fixtures?|examples?|samples?|demos?|docs?|",
    // Maven's integration tests live in src/it; `it` alone is any IT department's folder.
    r"documentation|e2e|(?-i:src/it)|integration[-_]?tests?|testutils?|testhelpers?|[^/]*[-_]tests?|",
    // Gradle and Maven source sets: dockerTest, intTest, testFixtures.
    r"[a-z]+(?-i:Tests?)|(?-i:test[A-Z][A-Za-z]*))/",
    // File names: foo_test.go, FooTest.java, FooTests.kt, foo.spec.ts, test_foo.py, conftest.py.
    r"|(?:^|/)[^/]*(?:[-_.]tests?|[-_.]spec|(?-i:Tests?)|_mock|[-_.]example)\.[a-z0-9]+$",
    r"|(?:^|/)(?:test_[^/]*|conftest)\.py$",
    // Example and documentation data: examples-1.json, docs-2.json, sample_config.yaml.
    r"|(?:^|/)(?:examples?|samples?|docs?)[-_.][^/]*$",
    // Documentation files.
    r"|\.(?:md|markdown|rst|adoc|asciidoc)$",
);

/// Which paths are test paths: the default list plus the user's own regexes.
#[derive(Debug)]
pub struct TestPaths {
    regex: Regex,
}

impl TestPaths {
    /// `extra` regexes (from --test-paths) mark more paths as test paths.
    pub fn new(extra: &[String]) -> anyhow::Result<Self> {
        for pattern in extra {
            Regex::new(pattern).with_context(|| format!("--test-paths: invalid regex `{pattern}`"))?;
        }
        let mut patterns = vec![DEFAULT.to_string()];
        patterns.extend(extra.iter().map(|p| format!("(?:{p})")));
        let regex = crate::rules::compile::case_insensitive_regex(&patterns.join("|"))
            .context("--test-paths: the regexes do not compile together")?;
        Ok(Self { regex })
    }

    pub fn contains(&self, scan_relative: &str) -> bool {
        self.regex.is_match(scan_relative)
    }
}

/// One level lower: error → warning → note.
pub fn demote(level: Level) -> Level {
    match level {
        Level::Error => Level::Warning,
        Level::Warning | Level::Note => Level::Note,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn test_fixture_example_and_doc_paths_are_recognised() {
        let paths = TestPaths::new(&[]).unwrap();
        for path in [
            "test/models/user_test.rb",
            "activerecord/test/cases/adapter_test.rb",
            "internal/command/testdata/show/terraform.tfstate",
            "spring-boot-project/src/test/resources/test.jks",
            "spring-boot-tests/spring-boot-smoke-tests/app.key",
            "service/s3/api_test.go",
            "src/main/java/FooTests.java",
            "web/src/app.spec.ts",
            "tests/unit/test_vault.py",
            "lib/conftest.py",
            "docs/configuration.md",
            "examples/basic/main.tf",
            "README.md",
            "src/it/resources/x.pem",
            "module/spring-boot-mail/src/dockerTest/resources/test-ca.key",
            "lib/src/testFixtures/java/Keys.java",
            "models/apis/kms/2014-11-01/examples-1.json",
            "models/apis/rds/2014-10-31/docs-2.json",
        ] {
            assert!(paths.contains(path), "{path}");
        }
        for path in [
            "src/main/java/Foo.java",
            "lib/ansible/modules/user.py",
            "config/database.yml",
            "latest/x.go",
            "contest/entry.go",
            "internal/latest.go",
            "cmd/contest.go",
            "service/ec2/api.go",
            "src/main/java/Contest.java",
            "src/latest/x.go",
        ] {
            assert!(!paths.contains(path), "{path}");
        }
        for path in [
            "IT/settings.py",
            "it/settings.py",
            "src/IT/x.pem",
            "audit/key.pem",
        ] {
            assert!(!paths.contains(path), "{path}");
        }
    }

    #[test]
    fn more_test_paths_can_be_marked() {
        let paths = TestPaths::new(&["^qa/".to_string()]).unwrap();
        assert!(paths.contains("qa/data/key.pem"));
        assert!(!paths.contains("src/qa/x"));
        assert!(TestPaths::new(&["(".to_string()]).is_err());
    }

    #[test]
    fn demotion_goes_one_level_down() {
        assert_eq!(demote(Level::Error), Level::Warning);
        assert_eq!(demote(Level::Warning), Level::Note);
        assert_eq!(demote(Level::Note), Level::Note);
    }
}
