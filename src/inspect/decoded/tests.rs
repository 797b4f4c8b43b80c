use super::*;

fn decoded_lines(text: &str) -> Vec<String> {
    let Some(decoded) = decode(text.as_bytes()) else {
        return Vec::new();
    };
    assert_eq!(
        decoded.text.iter().filter(|&&b| b == b'\n').count(),
        text.matches('\n').count(),
        "the copy keeps the lines"
    );
    String::from_utf8(decoded.text)
        .unwrap()
        .split('\n')
        .map(str::to_string)
        .collect()
}

#[test]
fn base64_and_hex_runs_that_read_as_text_are_decoded_in_place() {
    // "plain-words-here-1" base64- and hex-encoded.
    let lines =
        decoded_lines("a\nk = \"cGxhaW4td29yZHMtaGVyZS0x\"\nh = 706c61696e2d776f7264732d686572652d31\n");
    assert_eq!(lines[1], "k = \"plain-words-here-1\"");
    assert_eq!(lines[2], "h = plain-words-here-1");
    assert_eq!(lines[0], "");
}

#[test]
fn runs_that_decode_to_bytes_are_left_alone() {
    // A sha256 and an identifier decode to no text.
    assert!(
        decoded_lines("sum = e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n").is_empty()
    );
    assert!(decoded_lines("ListObjectsV2WithContextPagesRequestInput\n").is_empty());
}

#[test]
fn base64_twice_and_text_with_line_breaks() {
    // base64(base64("-----BEGIN RSA PRIVATE KEY-----\nMIIE")).
    let inner = "LS0tLS1CRUdJTiBSU0EgUFJJVkFURSBLRVktLS0tLQpNSUlF";
    let lines = decoded_lines(&format!("x: {inner}\n"));
    assert_eq!(lines[0], "x: -----BEGIN RSA PRIVATE KEY-----\\n MIIE");
    use base64::Engine as _;
    let outer = base64::engine::general_purpose::STANDARD.encode(inner);
    let lines = decoded_lines(&format!("x: {outer}\n"));
    assert_eq!(lines[0], "x: -----BEGIN RSA PRIVATE KEY-----\\n MIIE");
}

#[test]
fn a_decoded_line_break_ends_a_word() {
    // base64("# ci\nplain_words=here") and "line\u000aplain_words": the word after the break
    // starts a word (`\b` before it), as it does in the decoded text.
    let lines = decoded_lines("x: IyBjaQpwbGFpbl93b3Jkcz1oZXJl\ny = \"line\\u000aplain_words\"\n");
    assert_eq!(lines[0], "x: # ci\\n plain_words=here");
    assert_eq!(lines[1], "y = \"line\\n plain_words\"");
    let word = regex::Regex::new(r"\bplain_words").unwrap();
    assert!(lines[..2].iter().all(|line| word.is_match(line)), "{lines:?}");
}

#[test]
fn escapes_are_decoded_but_quotes_and_backslashes_kept() {
    let lines = decoded_lines(
        "t = \"\\u0067hp_abc\\x64\"\nu = %41KIA&#81;&#x33;\ns = \"\\\\u0041 \\\"q\\\"\"\nemoji \\uD83D\\uDE00\n",
    );
    assert_eq!(lines[0], "t = \"ghp_abcd\"");
    assert_eq!(lines[1], "u = AKIAQ3");
    assert_eq!(lines[2], "", "an escaped backslash is not an escape");
    assert_eq!(lines[3], "emoji \u{1F600}");
}

#[test]
fn invisible_characters_inside_tokens_are_removed() {
    let lines = decoded_lines("k = plain\u{200B}words\u{00AD}here\u{FEFF}\n");
    assert_eq!(lines[0], "k = plainwordshere");
}

#[test]
fn literals_glued_by_operators_or_continuations_are_joined() {
    let lines = decoded_lines(concat!(
        "a = \"AKIA\" + \"Q3TZ\" . 'x' + 'y'\n",
        "b = \"ghp_\" \"abc\"\n",
        "c = \"xoxb-\" +\n",
        "    \"1234\"\n",
        "d = \"one\"\n",
        "    + \"two\"\n",
        "e = [\"a\", \"b\"]\n",
        "f = \"a\" == \"b\"\n",
    ));
    assert_eq!(lines[0], "a = \"AKIAQ3TZ\" . 'xy'");
    assert_eq!(lines[1], "b = \"ghp_abc\"");
    assert_eq!(lines[2], "c = \"xoxb-1234\"");
    assert_eq!(lines[3], "");
    assert_eq!(lines[4], "d = \"onetwo\"");
    assert_eq!(lines[6], "", "a list is not a concatenation");
    assert_eq!(lines[7], "");
    let decoded = decode(b"c = \"xoxb-\" +\n    \"1234\"\n").unwrap();
    assert_eq!(decoded.source_lines(1), 1..=2);
}

#[test]
fn a_value_named_by_its_own_field_reads_as_an_assignment() {
    let ecs = "{\"name\": \"AWS_SECRET_ACCESS_KEY\", \"value\": \"abc\"}\n";
    assert!(decoded_lines(ecs)[0].ends_with("\tAWS_SECRET_ACCESS_KEY = \"abc\"}"));
    let k8s = "env:\n  - name: DB_PASSWORD\n    value: hunter2\n";
    let lines = decoded_lines(k8s);
    assert!(lines[2].ends_with("\tDB_PASSWORD = hunter2"), "{lines:?}");
    let decoded = decode(k8s.as_bytes()).unwrap();
    assert_eq!(decoded.source_lines(3), 2..=3);
    // JSON keeps no order: the name may follow.
    let reversed = "{\n  \"value\": \"abc\",\n  \"name\": \"TOKEN\"\n}\n";
    assert!(decoded_lines(reversed)[1].ends_with("\tTOKEN = \"abc\","));
    // Code that calls a field Name is not a name.
    assert!(decoded_lines("Name: aws.String(\"x\"),\nValue: aws.String(\"y\"),\n").is_empty());
    // Another pair's value stops the search.
    let two = "- name: A_NAME\n  value: one\n  value: two\n";
    assert_eq!(decoded_lines(two)[2], "");
}

#[test]
fn quoted_printable_is_decoded_only_where_a_window_reads_as_it() {
    let mail = "Content-Transfer-Encoding: quoted-printable\n\nkey=3D\"plain-wo=\nrds-here\" ok=20\nnext\n";
    let lines = decoded_lines(mail);
    assert_eq!(lines[2], "key=\"plain-words-here\" ok ");
    assert_eq!(lines[3], "", "joined onto the line its soft break continues");
    let decoded = decode(mail.as_bytes()).unwrap();
    assert_eq!(decoded.source_lines(3), 3..=4);
    // In code, `x=41` is an assignment and a final `=` no soft break.
    assert!(decoded_lines("x=41\ny =\n  2\n").is_empty());
}

#[test]
fn runs_of_sixteen_or_more_are_found_across_chunks() {
    let text = b"a.b ".repeat(10);
    assert!(encodings::runs_of(&text).is_empty());
    let text = [
        &b"x = "[..],
        &[b'Q'; 15][..],
        b" ",
        &[b'Q'; 16][..],
        b".",
        &[b'Q'; 40][..],
    ]
    .concat();
    assert_eq!(encodings::runs_of(&text), vec![20..36, 37..77]);
}

#[test]
fn three_digit_octal_escapes_are_decoded_but_short_ones_kept() {
    let lines = decoded_lines("s = \"\\147\\150\\160\\137abc\"\nre = \"(a)\\1 \\0 \\12\"\n");
    assert_eq!(lines[0], "s = \"ghp_abc\"");
    assert_eq!(
        lines[1], "",
        "a back-reference or a NUL is not a character spelled out"
    );
}

fn compressed(text: &[u8], gzip: bool) -> String {
    use base64::Engine as _;
    use std::io::Write as _;
    let bytes = if gzip {
        let mut encoder = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    } else {
        let mut encoder = flate2::write::ZlibEncoder::new(Vec::new(), flate2::Compression::best());
        encoder.write_all(text).unwrap();
        encoder.finish().unwrap()
    };
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn gzip_and_zlib_in_base64_are_inflated() {
    let inner = b"{\n  password = plain-words-here-1\n}";
    for gzip in [true, false] {
        let lines = decoded_lines(&format!("release: {}\n", compressed(inner, gzip)));
        assert_eq!(
            lines[0], "release: {\\n   password = plain-words-here-1\\n }",
            "gzip: {gzip}"
        );
    }
}

#[test]
fn an_inflated_bomb_stops_at_its_limit_and_bytes_are_left_alone() {
    let bomb = vec![b'a'; 4 << 20];
    let lines = decoded_lines(&format!("b: {}\n", compressed(&bomb, true)));
    assert!(lines[0].len() <= (1 << 20) + 3, "{} bytes", lines[0].len());
    // Compressed bytes that are no text are left out of the copy, and handed on as a
    // compressed stream for the inspector to open (as it opens a `.zz` file).
    let binary: Vec<u8> = (0..=255u8).cycle().take(4096).collect();
    let text = format!("b: {}\n", compressed(&binary, false));
    assert!(decoded_lines(&text).iter().all(String::is_empty));
    let decoded = decode(text.as_bytes()).expect("an encoded stream");
    assert_eq!(decoded.archives.len(), 1);
    assert_eq!(decoded.archives[0].lines, 1..=1);
}

#[test]
fn archives_in_base64_are_handed_on_in_either_alphabet_and_wrapped() {
    use base64::Engine as _;
    let zip = {
        let mut zip = b"PK\x03\x04".to_vec();
        zip.extend((0..200u8).map(|n| n.wrapping_mul(7)));
        zip
    };
    let standard = base64::engine::general_purpose::STANDARD.encode(&zip);
    let url_safe = base64::engine::general_purpose::URL_SAFE.encode(&zip);
    let wrapped: String = standard
        .as_bytes()
        .chunks(76)
        .map(|line| format!("  {}\n", String::from_utf8_lossy(line)))
        .collect();
    for (text, lines) in [
        (format!("data:application/zip;base64,{standard}\n"), 1..=1),
        (format!("x\nblob = \"{url_safe}\"\n"), 2..=2),
        (
            format!("payload: |\n{wrapped}"),
            2..=1 + wrapped.lines().count() as u32,
        ),
    ] {
        let decoded = decode(text.as_bytes()).expect(&text);
        assert_eq!(decoded.archives.len(), 1, "{text}");
        assert_eq!(decoded.archives[0].bytes, zip, "{text}");
        assert_eq!(decoded.archives[0].lines, lines, "{text}");
    }
    // Random bytes in base64, and an identifier that begins like a zip, are no archives.
    let random: Vec<u8> = (0..200u32)
        .map(|n| (n.wrapping_mul(2_654_435_761) >> 24) as u8)
        .collect();
    let text = format!(
        "v = {}\nUEsDBuilderFactoryConfigurationProvider\n",
        base64::engine::general_purpose::STANDARD.encode(&random)
    );
    assert!(decode(text.as_bytes()).is_none_or(|decoded| decoded.archives.is_empty()));
}

#[test]
fn an_escaped_line_break_before_a_word_is_decoded_so_the_word_starts_one() {
    let lines = decoded_lines("{\"t\": \"line\\nghp_abc\\tkey\\rx\"}\nprintf(\"a\\n\");\n");
    assert_eq!(lines[0], "{\"t\": \"line\\n ghp_abc\tkey\\r x\"}");
    assert_eq!(lines[1], "", "an escape before no word hides nothing");
}

#[test]
fn xml_attributes_name_a_value() {
    let lines = decoded_lines("<add key=\"DB_PASSWORD\" value=\"plain-words-here\" />\n");
    assert!(
        lines[0].ends_with("\tDB_PASSWORD = \"plain-words-here\" />"),
        "{}",
        lines[0]
    );
    let lines = decoded_lines("<add value=\"plain-words-here\" key=\"DB_PASSWORD\"/>\n");
    assert!(
        lines[0].ends_with("\tDB_PASSWORD = \"plain-words-here\" key=\"DB_PASSWORD\"/>"),
        "{}",
        lines[0]
    );
}

#[test]
fn lists_joined_by_a_call_are_read_as_one_literal() {
    let lines = decoded_lines(
        "t = \"\".join([\"plain-\", \"words-\", \"here\"])\nl = [\"plain-\", \"words\"]\nconst t = ['plain-', 'words'].join('');\n",
    );
    assert_eq!(
        lines[0],
        "t = \"\".join([\"plain-words-here\"])\tt = \"plain-words-here\""
    );
    assert_eq!(lines[1], "", "a list no call joins is data");
    assert_eq!(lines[2], "const t = ['plain-words'].join('');\tt = 'plain-words'");
    let lines = decoded_lines("t = strings.Join([]string{\n\t\"plain-\",\n\t\"words\",\n}, \"\")\nnext\n");
    assert_eq!(
        lines[0],
        "t = strings.Join([]string{ \"plain-words\", }, \"\")\tt = \"plain-words\""
    );
    assert_eq!(lines[4], "");
}

#[test]
fn character_codes_passed_to_a_call_are_read_as_text() {
    let lines = decoded_lines(concat!(
        "s = String.fromCharCode(112, 108, 97, 105, 110, 45, 119, 111)\n",
        "b = bytes([0x70, 0x6c, 0x61, 0x69, 0x6e, 0x2d, 0x77, 0x6f])\n",
        "c = new String(new char[] {'p', 'l', 'a', 'i', 'n', '-', 'w', 'o'});\n",
        "p = chr(112) + chr(108) + chr(97) + chr(105) + chr(110) + chr(45) + chr(119) + chr(111)\n",
        "v = bytes([1, 2, 3])\n",
        "rgb = [112, 108, 97, 105, 110, 45, 119, 111]\n",
    ));
    assert_eq!(
        lines[0],
        "s = String.fromCharCode(\"plain-wo\")\ts = \"plain-wo\""
    );
    assert_eq!(lines[1], "b = bytes([\"plain-wo\"])\tb = \"plain-wo\"");
    assert_eq!(
        lines[2],
        "c = new String(new char[] {'plain-wo'});\tc = 'plain-wo'"
    );
    assert_eq!(lines[3], "p = chr(\"plain-wo\")\tp = \"plain-wo\"");
    assert_eq!(lines[4], "", "too few codes to be a secret");
    assert_eq!(lines[5], "", "numbers no call turns into text are data");
}

#[test]
fn a_key_body_after_a_decoded_header_is_copied_as_it_is() {
    let text =
        "a\n-----BEGIN RSA PRIV\u{200b}ATE KEY-----\nQUJD\nREVG\n-----END RSA PRIVATE KEY-----\nafter\n";
    let lines = decoded_lines(text);
    assert_eq!(lines[1], "-----BEGIN RSA PRIVATE KEY-----");
    assert_eq!(lines[2], "QUJD");
    assert_eq!(lines[4], "-----END RSA PRIVATE KEY-----");
    assert_eq!(lines[5], "", "the copy stops at the key's end");
    assert_eq!(lines[0], "");
}

#[test]
fn every_full_width_form_folds_to_its_ascii_character() {
    for ascii in 0x21u8..=0x7E {
        let wide = char::from_u32(u32::from(ascii) + 0xFEE0).unwrap();
        let token: String = std::iter::repeat_n(wide, 4).collect();
        let folded = letters::folded_width(token.as_bytes());
        let expected = [ascii; 4].to_vec();
        if ascii.is_ascii_alphanumeric() || ascii == b'_' || ascii == b'-' {
            assert_eq!(folded, Some(expected), "{wide}");
        } else {
            assert_eq!(folded, None, "{wide} alone makes no token");
        }
    }
    // CJK punctuation around words is left alone; a full-width token among it is folded.
    assert_eq!(letters::folded_width("（注意）：ｍｉｎ".as_bytes()), None);
    assert_eq!(
        letters::folded_width("鍵＝ｇｈｐ＿ab".as_bytes()).unwrap(),
        "鍵=ghp_ab".as_bytes()
    );
}

#[test]
fn base32_runs_that_read_as_text_are_decoded() {
    // "plain-words-here-1" in base32, padded and not.
    let lines =
        decoded_lines("a = \"OBWGC2LOFV3W64TEOMWWQZLSMUWTC===\"\nb = OBWGC2LOFV3W64TEOMWWQZLSMUWTC\n");
    assert_eq!(lines[0], "a = \"plain-words-here-1\"");
    assert_eq!(lines[1], "b = plain-words-here-1");
    // Upper-case identifiers and constants are not base32 text.
    assert!(decoded_lines("const MAXIMUMRETRYATTEMPTSALLOWED = 3\n").is_empty());
}

#[test]
fn a_form_encoded_key_reads_with_spaces_in_its_markers_only() {
    let lines = decoded_lines(
        "key=-----BEGIN+RSA+PRIVATE+KEY-----%0AMIIE%2Bab+cd%0A-----END+RSA+PRIVATE+KEY-----%0A\n",
    );
    assert!(lines[0].contains("-----BEGIN RSA PRIVATE KEY-----"), "{lines:?}");
    assert!(lines[0].contains("-----END RSA PRIVATE KEY-----"), "{lines:?}");
    // The body's own `+` (from `%2B`) and a `+` that is no marker's are left alone.
    assert!(lines[0].contains("MIIE+ab+cd"), "{lines:?}");
    let mut plain = b"x=-----BEGIN+lower+case-----".to_vec();
    assert!(!escapes::form_spaces_in_key_markers(&mut plain));
}

#[test]
fn terminal_colour_codes_read_as_spaces() {
    let lines = decoded_lines("\u{1b}[1;31mERROR\u{1b}[0m token=\u{1b}[33mghp_abc\u{1b}[0m\n");
    assert_eq!(lines[0], " ERROR  token= ghp_abc ");
    // An ESC that starts no control sequence is left as it is.
    assert_eq!(escapes::without_control_sequences(b"a\x1bb \x1b[12"), None);
}

#[test]
fn a_word_continued_by_a_backslash_and_literals_by_powershell_or_vb_markers_are_joined() {
    let lines = decoded_lines("export T=ghp_abc\\\ndef\\\r\nxyz\nnext\n");
    assert_eq!(lines[0], "export T=ghp_abcdefxyz");
    let lines = decoded_lines("$t = \"ghp_abc\" + `\n  \"def\"\n");
    assert_eq!(lines[0], "$t = \"ghp_abcdef\"");
    let lines = decoded_lines("Dim t = \"ghp_abc\" & _\n  \"def\"\n");
    assert_eq!(lines[0], "Dim t = \"ghp_abcdef\"");
    // A continuation after a space, or before an indented line, joins no word.
    assert!(decoded_lines("docker run \\\n  --rm image\n")
        .iter()
        .all(String::is_empty));
    assert!(decoded_lines("cmd --flag value\\\n  --other\n")
        .iter()
        .all(String::is_empty));
}
