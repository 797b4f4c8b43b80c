use super::*;

/// A block size of the former lowercased search: the tests keep reading keywords past it.
const LOWERED_BLOCK: usize = 64 * 1024;

fn first(prefilter: &LinePrefilter, text: &str) -> Option<usize> {
    prefilter.search(text.as_bytes()).next_from(0)
}

#[test]
fn prefilter_matches_whatever_a_rule_matches() {
    let prefilter = LinePrefilter::build(
        &[
            r"\beval\b",
            r"md[245]",
            r"(password|passwd)(.*:|.*=.*)",
            r#"\sexec\s*("|\().+("|\))"#,
        ],
        Keywords::default(),
    )
    .unwrap();
    assert_eq!(
        prefilter.groups.len(),
        2,
        "the \\s pattern is searched on its own"
    );
    for line in [
        "x = eval(y)",
        "md5sum",
        "password = 1",
        "évaluer eval",
        "  exec(\"x\")",
    ] {
        assert!(first(&prefilter, line).is_some(), "{line}");
    }
    assert_eq!(first(&prefilter, "nothing here"), None);
}

#[test]
fn candidates_come_in_order_from_every_group() {
    let prefilter = LinePrefilter::build(&["md5", r"\sexec\("], Keywords::default()).unwrap();
    let text = b"a exec(\nmd5\nb exec(\n";
    let mut search = prefilter.search(text);
    assert_eq!(search.next_from(0), Some(1));
    assert_eq!(search.next_from(8), Some(8));
    assert_eq!(search.next_from(12), Some(13));
    assert_eq!(search.next_from(20), None);
}

fn keyword_prefilter(per_rule: &[(&[&str], bool)]) -> LinePrefilter {
    let owned: Vec<(Vec<String>, bool)> = per_rule
        .iter()
        .map(|(words, ignore_case)| (words.iter().map(ToString::to_string).collect(), *ignore_case))
        .collect();
    let keywords = Keywords::build(
        owned
            .iter()
            .map(|(words, ignore_case)| RuleKeywords::Keywords(words, *ignore_case)),
    )
    .unwrap();
    LinePrefilter::build(&[], keywords).unwrap()
}

/// Each candidate line (as a string) with its live rules.
fn candidate_lines(prefilter: &LinePrefilter, text: &str) -> Vec<(String, Vec<usize>)> {
    let mut search = prefilter.search(text.as_bytes());
    let mut lines = Vec::new();
    let mut from = 0;
    while let Some(candidate) = search.next_from(from) {
        let start = text[..candidate].rfind('\n').map_or(0, |at| at + 1);
        let end = text[candidate..]
            .find('\n')
            .map_or(text.len(), |at| candidate + at);
        let mut live = Vec::new();
        search.live_rules(end, &mut live);
        lines.push((text[start..end].to_string(), live));
        from = end + 1;
    }
    lines
}

#[test]
fn keywords_match_exactly_or_ignoring_case_as_their_rule_does() {
    let prefilter = keyword_prefilter(&[(&["SK"], false), (&["password"], true)]);
    assert_eq!(first(&prefilter, "run the task on disk"), None);
    assert_eq!(
        candidate_lines(
            &prefilter,
            "task\nkey = SK0123 # DB_PASSWORD\nPassword: 1\nSK only"
        ),
        [
            ("key = SK0123 # DB_PASSWORD".to_string(), vec![0, 1]),
            ("Password: 1".to_string(), vec![1]),
            ("SK only".to_string(), vec![0]),
        ]
    );
}

#[test]
fn rules_without_keywords_run_on_every_candidate_line_and_limited_ones_on_none() {
    let sk = ["SK".to_string()];
    let keywords = Keywords::build(
        [
            RuleKeywords::Keywords(&sk, false),
            RuleKeywords::NotOnCandidates,
            RuleKeywords::Keywords(&[], false),
        ]
        .into_iter(),
    )
    .unwrap();
    let prefilter = LinePrefilter::build(&["md5"], keywords).unwrap();
    assert_eq!(
        candidate_lines(&prefilter, "md5\nnothing\nSK"),
        [("md5".to_string(), vec![2]), ("SK".to_string(), vec![0, 2])]
    );
}

#[test]
fn case_insensitive_keywords_are_found_in_any_mix_of_cases() {
    let prefilter = keyword_prefilter(&[(&["password"], true)]);
    for line in ["password = 1", "PASSWORD = 1", "dbPassWord = 1", "x\npAsSwOrD"] {
        assert!(first(&prefilter, line).is_some(), "{line}");
    }
    assert_eq!(first(&prefilter, "passwd = 1"), None);
}

#[test]
fn every_keyword_on_a_line_makes_its_rules_live_also_where_keywords_overlap() {
    // "token" inside "secretoken", "pass" as the start of "passphrase", "key" inside
    // "api_key": each rule is live on the line that holds its keyword.
    let prefilter = keyword_prefilter(&[
        (&["secret"], true),
        (&["token"], true),
        (&["passphrase"], true),
        (&["pass"], true),
        (&["api_key"], false),
        (&["key"], false),
        (&["unused"], false),
    ]);
    assert_eq!(
        candidate_lines(&prefilter, "x\nSECRETOKEN passphrase api_key\ny"),
        [(
            "SECRETOKEN passphrase api_key".to_string(),
            vec![0, 1, 2, 3, 4, 5]
        )]
    );
}

/// Against the plain definition, on random text made of keyword pieces: a line is a
/// candidate exactly when it holds some rule's keyword (exactly, or in any case for a
/// case-insensitive rule), and its live rules are exactly those rules.
#[test]
fn candidates_and_live_rules_match_a_plain_search_on_random_text() {
    // Keywords inside others, at their start ("pass", "Q~") or further in ("ord"), of the
    // same rule or of another.
    let rules: [(&[&str], bool); 8] = [
        (&["passw", "password="], true),
        (&["token"], true),
        (&["secret", "secret_key"], true),
        (&["SK", "sk-"], false),
        (&["8Q~", "Q~x"], false),
        (&["ord", "assword"], false),
        (&["pass"], true),
        (&["Q~"], false),
    ];
    let prefilter = keyword_prefilter(&rules);
    let pieces = [
        "pass", "w", "ord", "PASS", "Wor", "d=", "tok", "en", "TOKEN", "secret", "_key", "SECRE", "T", "SK",
        "sk", "-", "8", "Q~", "x", " ", "\n", "\n", "=", "\"",
    ];
    let mut seed: u64 = 0x2545_f491_4f6c_dd1d;
    let mut next = |bound: usize| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        usize::try_from(seed % bound as u64).unwrap()
    };
    for round in 0..200 {
        // Mostly short texts; a few longer than a lowercased block.
        let length = if round % 50 == 0 { 40_000 } else { 1 + next(60) };
        let text: String = (0..length).map(|_| pieces[next(pieces.len())]).collect();
        let expected: Vec<(String, Vec<usize>)> = text
            .split('\n')
            .filter_map(|line| {
                let live: Vec<usize> = (0..rules.len())
                    .filter(|&rule| {
                        let (words, ignore_case) = rules[rule];
                        words.iter().any(|word| {
                            if ignore_case {
                                line.to_ascii_lowercase().contains(&word.to_ascii_lowercase())
                            } else {
                                line.contains(word)
                            }
                        })
                    })
                    .collect();
                (!live.is_empty()).then(|| (line.to_string(), live))
            })
            .collect();
        assert_eq!(candidate_lines(&prefilter, &text), expected, "{text:?}");
    }
}

#[test]
fn lowercase_blocks_find_keywords_far_into_a_file_and_across_block_ends() {
    let prefilter = keyword_prefilter(&[(&["password"], true)]);
    let filler = "x".repeat(100) + "\n";
    let mut text = filler.repeat(LOWERED_BLOCK / filler.len() - 1);
    // A long line across the first block's end, with the keyword after it.
    text.push_str(&"y".repeat(300));
    text.push_str(" PassWord\n");
    text.push_str(&filler.repeat(2 * LOWERED_BLOCK / filler.len()));
    text.push_str("last PASSWORD");
    let lines = candidate_lines(&prefilter, &text);
    assert_eq!(lines.len(), 2);
    assert!(lines[0].0.ends_with(" PassWord"));
    assert_eq!(lines[1].0, "last PASSWORD");

    // A keyword on the byte where a block would end: the block goes on to the line's end.
    let text = "z".repeat(LOWERED_BLOCK - 4) + "PassWord\nnext";
    let lines = candidate_lines(&prefilter, &text);
    assert_eq!(lines.len(), 1);
    assert!(lines[0].0.ends_with("zPassWord"));
}

#[test]
fn required_literals_are_what_every_match_holds() {
    let url =
        RequiredLiterals::of(r"\b[a-z]{1,20}://(?P<user>[^\s:@]*):(?P<secret>[^\s@]{3,})@[^\s/]+").unwrap();
    assert!(url.all_in(b"db = postgres://app:Zq8vLx2W@db.internal/app"));
    assert!(!url.all_in(b"see https://docs.example.com/api for details"));
    let password = RequiredLiterals::of(r#"(?i)passw(?:or)?d\s*=\s*["'](?P<secret>[^"']{6,})["']"#).unwrap();
    assert!(password.all_in(b"PASSWORD = 'x'"), "only `=` is certain");
    assert!(!password.all_in(b"password: 'x'"));
    let alternation = RequiredLiterals::of("(?:ab|cd)x?").unwrap();
    assert!(alternation.all_in(b""), "nothing is certain in an alternation");
    let quoted = RequiredLiterals::of(r#"(?i)token\s*=\s*["'`](?P<secret>[a-z0-9]{8,})["'`]"#).unwrap();
    assert!(quoted.all_in(b"TOKEN = `abcdefgh`"));
    assert!(
        !quoted.all_in(b"token = abcdefgh"),
        "one of the quotes is certain"
    );
    assert!(
        quoted.all_in(b"= '"),
        "the letters of a case-insensitive word are not asked for"
    );
    let wide = RequiredLiterals::of("key[0-9]x").unwrap();
    assert!(
        wide.all_in(b"key x"),
        "a class of more than three bytes is not asked for"
    );
}

/// The first offset at or after `from` where one of the keywords starts, by a plain search.
fn plain_first(rules: &[(&[&str], bool)], text: &[u8], from: usize) -> Option<usize> {
    (from..text.len()).find(|&at| {
        rules.iter().any(|(words, ignore_case)| {
            words.iter().any(|word| {
                let rest = &text[at..];
                rest.len() >= word.len()
                    && if *ignore_case {
                        rest[..word.len()].eq_ignore_ascii_case(word.as_bytes())
                    } else {
                        &rest[..word.len()] == word.as_bytes()
                    }
            })
        })
    })
}

#[test]
fn keywords_of_every_length_are_found_from_any_offset_and_at_the_end() {
    let rules: [(&[&str], bool); 6] = [
        (&["x"], false),
        (&["Q~"], false),
        (&["pw"], true),
        (&["eyJ"], false),
        (&["key"], true),
        (&["secret_key"], true),
    ];
    let prefilter = keyword_prefilter(&rules);
    let texts: [&[u8]; 6] = [
        b"a KEY\nb\nPW\nsecret_KEY x\n8Q~ eyj eyJ\nX",
        b"ke",
        b"eyJ",
        b"zzzx",
        b"SECRET_KEY",
        b"no\r\nQ~\r\n",
    ];
    for text in texts {
        for from in 0..=text.len() {
            assert_eq!(
                prefilter.search(text).next_from(from),
                plain_first(&rules, text, from),
                "{:?} from {from}",
                String::from_utf8_lossy(text)
            );
        }
    }
}

/// A three-byte keyword sets a whole word of the table: it is found followed by any byte and
/// at the end; four-byte fingerprints that share a bit (`d` and `e` do) are told apart by the
/// comparison; keywords indexed under a common piece of text (`type` of `typetalk` is not one)
/// are found wherever they are, in any case when their rule ignores it.
#[test]
fn keywords_sharing_table_words_and_bits_are_each_found_at_every_offset() {
    let rules: [(&[&str], bool); 5] = [
        (&["://"], false),
        (&["-us"], true),
        (&["abcd"], false),
        (&["abce"], true),
        (&["typetalk", "codemagic"], true),
    ];
    let prefilter = keyword_prefilter(&rules);
    let mut texts: Vec<Vec<u8>> = (0..=255u8)
        .flat_map(|byte| [[b':', b'/', b'/', byte], [b'-', b'U', b'S', byte]])
        .map(|text| text.to_vec())
        .collect();
    texts.extend(
        [
            &b"x-u\nabcd abcD ABCE abcf typetalk TypeTalk typ codemagic codemagi\n://"[..],
            b"type code talk magic typetal abcEabcd",
            b"-US",
            b"a:/",
        ]
        .map(<[u8]>::to_vec),
    );
    for text in &texts {
        for from in 0..=text.len() {
            assert_eq!(
                prefilter.search(text).next_from(from),
                plain_first(&rules, text, from),
                "{:?} from {from}",
                String::from_utf8_lossy(text)
            );
        }
    }
    let lines = candidate_lines(&prefilter, "a abce ABCD\nTYPETALK and https://x\nabcd-Us\ntype");
    assert_eq!(
        lines,
        [
            ("a abce ABCD".to_string(), vec![3]),
            ("TYPETALK and https://x".to_string(), vec![0, 4]),
            ("abcd-Us".to_string(), vec![1, 2]),
        ]
    );
}

/// A stop first compares the keyword's folded head (up to eight bytes) with the text: keywords
/// longer and shorter than eight bytes, in any case, and ending the text exactly, are found; a
/// head that matches only folded (`@` and `` ` `` fold alike) is still compared exactly.
#[test]
fn keyword_heads_let_every_keyword_through_at_every_offset() {
    let rules: [(&[&str], bool); 4] = [
        (&["client_secret_value"], true),
        (&["Bearer@"], false),
        (&["zxcv"], true),
        (&["abcdefgh"], false),
    ];
    let prefilter = keyword_prefilter(&rules);
    let texts: [&[u8]; 5] = [
        b"CLIENT_SECRET_VALUE client_secret_valu\nclient_secret_valuE",
        b"Bearer` Bearer@ bearer@ Bearer",
        b"ZXCV zxc",
        b"abcdefg abcdefgH abcdefgh",
        b"zxcVabcdefghclient_secret_value",
    ];
    for text in texts {
        for from in 0..=text.len() {
            assert_eq!(
                prefilter.search(text).next_from(from),
                plain_first(&rules, text, from),
                "{:?} from {from}",
                String::from_utf8_lossy(text)
            );
        }
    }
}

/// Hundreds of keywords fill the fingerprint table: still exactly the lines that hold one, with
/// the rules of the keywords they hold.
#[test]
fn many_keywords_match_a_plain_search() {
    let owned: Vec<String> = (0..700)
        .map(|i| format!("kw{}z{}", i * 7919 % 1000, i % 13))
        .collect();
    let per_rule: Vec<[&str; 1]> = owned.iter().map(|word| [word.as_str()]).collect();
    let rules: Vec<(&[&str], bool)> = per_rule
        .iter()
        .enumerate()
        .map(|(i, words)| (&words[..], i % 2 == 0))
        .collect();
    let prefilter = keyword_prefilter(&rules);
    let mut text = String::new();
    for i in 0..3000 {
        match i % 3 {
            0 => text.push_str(&format!("x = KW{}Z{} y\n", i * 31 % 1000, i % 13)),
            1 => text.push_str(&format!(
                "kw{}z{}kw{}z{}\n",
                i % 1000,
                i % 7,
                i * 3 % 1000,
                i % 13
            )),
            _ => text.push_str("nothing to see here\n"),
        }
    }
    let expected: Vec<(String, Vec<usize>)> = text
        .split('\n')
        .filter_map(|line| {
            let live: Vec<usize> = (0..rules.len())
                .filter(|&rule| {
                    let (words, ignore_case) = rules[rule];
                    if ignore_case {
                        line.to_ascii_lowercase().contains(words[0])
                    } else {
                        line.contains(words[0])
                    }
                })
                .collect();
            (!live.is_empty()).then(|| (line.to_string(), live))
        })
        .collect();
    assert!(expected.len() > 100, "{}", expected.len());
    assert_eq!(candidate_lines(&prefilter, &text), expected);
}

#[test]
fn invalid_patterns_are_reported() {
    assert!(LinePrefilter::build(&["a("], Keywords::default()).is_err());
}
