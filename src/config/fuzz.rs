//! A fuzz stand-in for the configuration loaders (cargo-fuzz needs a nightly toolchain, which
//! cannot be installed here): proptest feeds `anteater.conf`, flag lists, ignore lists and
//! project exception files built from their grammar (real keys, misspelt keys, wrong types,
//! nulls, anchors, broken regexes, deep nesting) and from arbitrary bytes, through the loaders
//! and through `Config::build`, which compiles every regex. Whatever the input: no panic, and
//! either a configuration or an error that says which file is wrong. Bounded to a few seconds.

use std::path::Path;

use super::Config;
use crate::legacy::conf::LegacyConf;
use crate::legacy::lists::{ExceptionFile, FlagList};
use crate::platform_env::PlatformEnv;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, FileFailurePersistence};

fn config(cases: u32) -> ProptestConfig {
    ProptestConfig {
        cases,
        // Failures are reported in the test output; nothing is written into the source tree.
        failure_persistence: Some(Box::new(FileFailurePersistence::Off)),
        ..ProptestConfig::default()
    }
}

/// YAML scalars, good and bad, including regexes that do not compile and YAML's special values.
fn scalar() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("md5".to_string()),
        Just("'(unclosed'".to_string()),
        Just("'[z-a]'".to_string()),
        Just("'a{99999}{99999}'".to_string()),
        Just("''".to_string()),
        Just("~".to_string()),
        Just("null".to_string()),
        Just("nullvalue".to_string()),
        Just("true".to_string()),
        Just("12".to_string()),
        Just("[]".to_string()),
        Just("{}".to_string()),
        Just("&anchor x".to_string()),
        Just("*anchor".to_string()),
        Just("'\\\\.pem$'".to_string()),
        Just("\"\\u0000\"".to_string()),
        Just("high".to_string()),
        Just("bogus-severity".to_string()),
        "[a-zA-Z0-9_.*+?()\\[\\]{}|^$\\\\ -]{0,12}",
    ]
}

/// Keys of every level of the flag and ignore lists, and near misses.
fn key() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("file_audits"),
        Just("file_audit"),
        Just("file_names"),
        Just("file_contents"),
        Just("regex"),
        Just("desc"),
        Just("severity"),
        Just("redact"),
        Just("binaries"),
        Just("file_ignore"),
        Just("url_ignore"),
        Just("ip_ignore"),
        Just("ignore_directories"),
        Just("project_exceptions"),
        Just("report_url"),
        Just("md5"),
        Just("proj"),
        Just("<<"),
        Just("? complex"),
    ]
    .prop_map(str::to_string)
}

/// A YAML document from the lists' grammar, nested up to three levels.
fn yaml() -> impl Strategy<Value = String> {
    let leaf = scalar().prop_map(|value| format!(" {value}\n"));
    let node = leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec((key(), inner.clone()), 1..4).prop_map(|entries| {
                let mut text = String::from("\n");
                for (key, value) in entries {
                    text.push_str(&format!("{key}:{}", indent(&value)));
                }
                text
            }),
            prop::collection::vec(inner, 1..4).prop_map(|items| {
                let mut text = String::from("\n");
                for item in items {
                    text.push_str(&format!("-{}", indent(&item)));
                }
                text
            }),
        ]
    });
    prop_oneof![
        prop::collection::vec((key(), node), 0..4).prop_map(|entries| {
            entries
                .into_iter()
                .map(|(key, value)| format!("{key}:{value}"))
                .collect::<String>()
        }),
        Just("---\n".to_string()),
        Just(String::new()),
        "\\PC{0,80}",
    ]
}

fn indent(text: &str) -> String {
    if !text.starts_with('\n') {
        return text.to_string();
    }
    text.lines()
        .map(|line| {
            if line.is_empty() {
                "\n".to_string()
            } else {
                format!("  {line}\n")
            }
        })
        .collect()
}

/// `anteater.conf` from ConfigParser's grammar: sections, keys, interpolations (loops too).
fn conf() -> impl Strategy<Value = String> {
    let line = prop_oneof![
        Just("[config]".to_string()),
        Just("[DEFAULT]".to_string()),
        Just("[other".to_string()),
        Just("anteater_files = lists/".to_string()),
        Just("flag_list = %(anteater_files)sflags.yaml".to_string()),
        Just("ignore_list = %(anteater_files)signore.yaml".to_string()),
        Just("flag_list = %(flag_list)s".to_string()),
        Just("ignore_list = %(missing)s".to_string()),
        Just("a = %(b)s".to_string()),
        Just("b = %(a)s".to_string()),
        Just("flag_list = 100%".to_string()),
        Just("; comment".to_string()),
        Just("  continued".to_string()),
        Just("=".to_string()),
        "[a-z_%()=\\[\\] ]{0,20}",
    ];
    prop::collection::vec(line, 0..8).prop_map(|lines| lines.join("\n"))
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn list_loaders_never_panic(text in yaml(), bytes in prop::collection::vec(any::<u8>(), 0..64)) {
        let path = Path::new("lists/fuzzed.yaml");
        for input in [text.as_bytes(), &bytes] {
            if let Err(err) = FlagList::parse_bytes(input, path) {
                prop_assert!(format!("{err:#}").contains("fuzzed.yaml"), "{err:#}");
            }
            for what in ["ignore list", "project exception file"] {
                if let Err(err) = ExceptionFile::parse_bytes(input, path, what) {
                    prop_assert!(format!("{err:#}").contains("fuzzed.yaml"), "{err:#}");
                }
            }
        }
    }

    #[test]
    fn conf_loader_never_panics(text in conf()) {
        if let Err(err) = LegacyConf::parse(&text, Path::new("fuzzed/anteater.conf")) {
            prop_assert!(format!("{err:#}").contains("anteater.conf"), "{err:#}");
        }
    }
}

proptest! {
    // Each case builds a whole configuration (regexes compiled): fewer cases.
    #![proptest_config(config(48))]

    #[test]
    fn whole_configurations_never_panic(
        conf in conf(),
        flags in yaml(),
        ignore in yaml(),
        project in yaml(),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let lists = dir.path().join("lists");
        std::fs::create_dir_all(&lists).unwrap();
        std::fs::write(dir.path().join("anteater.conf"), &conf).unwrap();
        std::fs::write(lists.join("flags.yaml"), &flags).unwrap();
        // The ignore list names the project file, so that it is loaded too.
        let ignore = format!("{ignore}\nproject_exceptions:\n  - proj: project.yaml\n");
        std::fs::write(lists.join("ignore.yaml"), &ignore).unwrap();
        std::fs::write(lists.join("project.yaml"), &project).unwrap();
        let root = dir.path().display().to_string();
        let conf_path = dir.path().join("anteater.conf").display().to_string();
        for args in [
            vec!["anteater", "--path", &root, "--config", &conf_path, "--project", "proj"],
            vec![
                "anteater", "--path", &root, "--config", &conf_path, "--project", "proj",
                "--flag-list", &format!("{root}/lists/flags.yaml"),
                "--ignore-list", &format!("{root}/lists/ignore.yaml"),
            ],
        ] {
            let cli = crate::cli::try_parse_from(args.iter().map(Into::into)).unwrap();
            if let Err(err) = Config::build(cli, &PlatformEnv::default()) {
                let message = format!("{err:#}");
                prop_assert!(!message.trim().is_empty());
            }
        }
    }
}
