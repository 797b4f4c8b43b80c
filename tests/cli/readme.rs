//! The README's promises point at tests that exist: every test named in "What anteater
//! guarantees" is a test function of this suite.

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

#[test]
fn every_guarantee_names_a_test_that_exists() {
    let readme = std::fs::read_to_string(format!("{ROOT}/README.md")).unwrap();
    let start = readme.find("## What anteater guarantees").expect("the section");
    let end = start + readme[start..][3..].find("\n## ").expect("a next section") + 3;
    let section = &readme[start..end];
    let mut sources = String::new();
    for dir in ["tests/cli", "src", "src/rules", "src/inspect"] {
        for entry in std::fs::read_dir(format!("{ROOT}/{dir}")).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "rs") {
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
