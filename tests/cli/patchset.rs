//! `--patchset`: only the listed files are scanned; missing ones are reported; paths that
//! escape the scanned root are refused.

use crate::common::{anteater, fixture};

#[test]
fn only_listed_files_are_scanned_and_missing_ones_reported() {
    let dir = fixture("anteater-original");
    std::fs::write(
        dir.path().join("changes.txt"),
        "python/run.py\nshell/deleted.sh\n\ntests/testproject/../testproject/tests/script.sh\n",
    )
    .unwrap();
    // The third entry is relative to the root too, so it does not exist (root/tests/testproject/...).
    let run = anteater(dir.path())
        .args(&[
            "--project",
            "testproject",
            "--path",
            "tests/testproject",
            "--patchset",
            "changes.txt",
        ])
        .run();
    assert_eq!(run.code, 1, "{}", run.all_output());
    let rules = run.found();
    assert_eq!(
        rules,
        vec![
            "python/run.py:10:sha",
            "python/run.py:13:apprun",
            "python/run.py:16:apprun",
        ]
    );
    assert!(
        run.stderr
            .contains("shell/deleted.sh: listed in the patchset but does not exist"),
        "{}",
        run.stderr
    );
    let notifications =
        &run.sarif.as_ref().unwrap()["runs"][0]["invocations"][0]["toolExecutionNotifications"];
    assert_eq!(notifications.as_array().unwrap().len(), 2);
}

#[test]
fn absolute_paths_inside_the_root_are_accepted() {
    let dir = fixture("anteater-original");
    let root = dir.path().join("tests/testproject").canonicalize().unwrap();
    std::fs::write(
        dir.path().join("changes.txt"),
        format!("{}\n", root.join("shell/test.sh").display()),
    )
    .unwrap();
    let run = anteater(dir.path())
        .args(&[
            "--project",
            "testproject",
            "--path",
            "tests/testproject",
            "--patchset",
            "changes.txt",
        ])
        .run();
    assert_eq!(run.code, 1);
    assert_eq!(run.results().len(), 2);
}

#[test]
fn paths_escaping_the_root_are_refused() {
    let dir = fixture("anteater-original");
    for entry in [
        "../../anteater.conf",
        "/etc/passwd",
        "python/../../../anteater.conf",
    ] {
        std::fs::write(
            dir.path().join("changes.txt"),
            format!("python/run.py\n{entry}\n"),
        )
        .unwrap();
        let run = anteater(dir.path())
            .args(&[
                "--project",
                "testproject",
                "--path",
                "tests/testproject",
                "--patchset",
                "changes.txt",
            ])
            .run();
        assert_eq!(run.code, 2, "{entry}: {}", run.all_output());
        assert!(run.stderr.contains("changes.txt line 2"), "{}", run.stderr);
        assert!(
            run.stderr.contains("resolves outside the scanned root"),
            "{}",
            run.stderr
        );
        assert!(run.sarif.is_none(), "no report for a refused scan");
    }
}

#[test]
fn the_original_patchset_with_foreign_absolute_paths_is_refused() {
    let dir = fixture("anteater-original");
    let run = anteater(dir.path())
        .args(&[
            "--project",
            "testproject",
            "--path",
            "tests/testproject",
            "--patchset",
            "tests/testproject/patchset",
        ])
        .run();
    assert_eq!(run.code, 2);
    assert!(
        run.stderr
            .contains("/home/luke/repos/anteater/tests/testproject/images/flow.png"),
        "{}",
        run.stderr
    );
}

#[test]
fn an_empty_patchset_scans_nothing_and_passes() {
    let dir = fixture("anteater-original");
    std::fs::write(dir.path().join("changes.txt"), "").unwrap();
    let run = anteater(dir.path())
        .args(&[
            "--project",
            "testproject",
            "--path",
            "tests/testproject",
            "--patchset",
            "changes.txt",
        ])
        .run();
    assert_eq!(run.code, 0, "{}", run.all_output());
    assert!(run.results().is_empty());
}
