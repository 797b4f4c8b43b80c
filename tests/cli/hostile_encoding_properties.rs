//! Property tests for the encoding axes of issue 18: what a file's bytes are (`src/inspect/text/`,
//! `src/inspect/binary.rs`). Each case is a file that holds one real-format secret (a GitHub
//! token with a valid checksum, an AWS access key id and secret access key pair, a Slack token, a
//! PEM private key) at a random line among filler lines (LF or CRLF, with or without a final line
//! break, some of them non-ASCII where the encoding can hold it), the whole text then encoded as
//! UTF-8 (with a byte-order mark or without), UTF-16 or UTF-32 (either byte order, with a
//! byte-order mark or without) or EBCDIC (either newline byte), and sometimes a hostile prefix put
//! in front: a `%PDF-1.x` line (and the binary comment line PDFs carry), a PNG signature and
//! header chunk, a single NUL byte somewhere in the first KiB, or a byte-order mark of the wrong
//! kind.
//!
//! The binary must report the secret by its rule in a tree scan, `--staged`, `--diff BASE` and
//! `--history`, and print none of it: at its line when the file is read as text (decoded or as it
//! is), at line 1 when its bytes are searched as a binary's (a binary's hits are about the file).
//! Benign files (the same encodings and prefixes, the secret damaged so no rule knows it) fail no
//! gate in any mode.
//!
//! Which prefixes go with which encodings (see `supported`): plain text behind a `%PDF` or PNG
//! signature, with a NUL, behind any byte-order mark; UTF-16 and UTF-32 text behind any mark
//! (of another kind or byte order too), or with a stray byte (a NUL, a letter) inserted inside;
//! EBCDIC text behind any prefix or with a NUL inside (in the first MiB behind a binary
//! prefix); wide and EBCDIC text as they are, EBCDIC however few its spaces. Not generated:
//! wide text behind a signature (found, at a line that depends on how the file is read; see
//! `hostile_round_seven.rs`); a known gap: EBCDIC or wide text behind a binary prefix past the
//! file's first MiB.
//!
//! Seeded: a failure names its seed, and `ANTEATER_ENCODING_SEED=N` replays it;
//! `ANTEATER_ENCODING_CASES=N` runs N cases of each test (24 by default: the file takes a few
//! seconds in a debug build; cases share one repository and one run of each mode). Run a few
//! hundred before changing `src/inspect/text/` or `src/inspect/binary.rs`:
//! `ANTEATER_ENCODING_CASES=300 cargo test --test cli hostile_encoding` (with `_CASES` set, the
//! counts of what the cases covered are printed, and `ANTEATER_ENCODING_SHOW=1` prints each case).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;

use crate::common::{anteater, Run};
use crate::support::git_repo::GitRepo as Repo;
use crate::support::seeded::{github_token, pem_body, seeds, Rng};

const SEEDS: &str = "ANTEATER_ENCODING";
/// Cases per test by default: a batch of them costs four runs of the binary.
const DEFAULT_CASES: u64 = 24;
/// Cases that share one repository.
const BATCH: usize = 25;

// ---------------------------------------------------------------------------------------------
// Secrets.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    GitHub,
    /// An access key id and its secret access key, on two lines.
    AwsPair,
    Slack,
    /// A PEM key, by its index in `PEM_KINDS`.
    Pem(usize),
}

/// A key has four rules, each drawn a quarter as often as a token.
const KINDS: [Kind; 10] = [
    Kind::GitHub,
    Kind::GitHub,
    Kind::AwsPair,
    Kind::AwsPair,
    Kind::Slack,
    Kind::Slack,
    Kind::Pem(0),
    Kind::Pem(1),
    Kind::Pem(2),
    Kind::Pem(3),
];

const PEM_KINDS: [(&str, &str); 4] = [
    ("RSA ", "private-key-rsa"),
    ("EC ", "private-key-ec"),
    ("OPENSSH ", "private-key-openssh"),
    ("", "private-key-pkcs8"),
];

const ALNUM: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
const BASE64_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

fn chars(rng: &mut Rng, alphabet: &[u8], n: usize) -> String {
    (0..n)
        .map(|_| alphabet[rng.below(alphabet.len())] as char)
        .collect()
}

fn entropy(text: &str) -> f64 {
    let mut counts = [0usize; 256];
    for byte in text.bytes() {
        counts[usize::from(byte)] += 1;
    }
    let n = text.len() as f64;
    counts
        .iter()
        .filter(|&&c| c > 0)
        .map(|&c| -(c as f64 / n) * (c as f64 / n).log2())
        .sum()
}

/// `value` with eight characters from `from` on replaced by `x`: a placeholder no rule reports.
fn damaged(value: &str, from: usize, rng: &mut Rng) -> String {
    let at = from + rng.below(value.len() - from - 8 + 1);
    format!("{}xxxxxxxx{}", &value[..at], &value[at + 8..])
}

/// The lines holding a secret of `kind`, made at run time (fake by construction), or damaged
/// so that no rule reports them (`benign`); the rules each is reported by, by the index of its
/// line among them; and the secret values no output may hold.
struct Secret {
    lines: Vec<String>,
    rules: Vec<(&'static str, usize)>,
    values: Vec<String>,
}

fn secret(kind: Kind, rng: &mut Rng, n: u64, benign: bool) -> Secret {
    let eq = *rng.pick(&["=", " = ", ": "]);
    let quote = *rng.pick(&["", "\"", "'"]);
    let assign = |name: &str, value: &str| format!("{name}{eq}{quote}{value}{quote}");
    match kind {
        Kind::GitHub => {
            let mut token = github_token(n);
            if benign {
                token = damaged(&token, 4, rng);
            }
            let name = *rng.pick(&["GITHUB_TOKEN", "gh_token", "deploy_token", "token"]);
            Secret {
                lines: vec![assign(name, &token)],
                rules: vec![("github-token", 0)],
                values: vec![token],
            }
        }
        Kind::AwsPair => {
            let id = loop {
                let id = format!("AKIA{}", chars(rng, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
                if id.bytes().collect::<BTreeSet<u8>>().len() >= 10 {
                    break id;
                }
            };
            let key = loop {
                let key = chars(rng, BASE64_ALPHABET, 40);
                if entropy(&key) >= 4.5 {
                    break key;
                }
            };
            let (id, key) = if benign {
                (damaged(&id, 4, rng), "<YOUR_SECRET_ACCESS_KEY>".to_string())
            } else {
                (id, key)
            };
            let (id_name, key_name) = *rng.pick(&[
                ("aws_access_key_id", "aws_secret_access_key"),
                ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"),
            ]);
            Secret {
                lines: vec![assign(id_name, &id), assign(key_name, &key)],
                rules: vec![("aws-access-key-id", 0), ("aws-secret-access-key", 1)],
                values: vec![id, key],
            }
        }
        Kind::Slack => {
            let digits =
                |rng: &mut Rng, n: usize| format!("{}{}", 1 + rng.below(9), chars(rng, b"0123456789", n - 1));
            let team = digits(rng, 12);
            let user = digits(rng, 13);
            let flavour = *rng.pick(&["b", "p"]);
            let mut token = format!("xox{flavour}-{team}-{user}-{}", chars(rng, ALNUM, 24));
            if benign {
                let from = token.len() - 24;
                token = damaged(&token, from, rng);
            }
            let name = *rng.pick(&["SLACK_BOT_TOKEN", "slack_token"]);
            Secret {
                lines: vec![assign(name, &token)],
                rules: vec![("slack-token", 0)],
                values: vec![token],
            }
        }
        Kind::Pem(k) => {
            let (label, rule) = PEM_KINDS[k];
            let body = pem_body(n, 3 + rng.below(10));
            // A damaged key is a header no rule takes (a placeholder in the word PRIVATE).
            let private = if benign { "PRIVATX" } else { "PRIVATE" };
            let mut lines = vec![format!("-----BEGIN {label}{private} {k}-----", k = "KEY")];
            lines.extend(body.iter().cloned());
            lines.push(format!("-----END {label}{private} {k}-----", k = "KEY"));
            Secret {
                lines,
                rules: vec![(rule, 0)],
                values: body.into_iter().filter(|line| line.len() >= 20).collect(),
            }
        }
    }
}

/// A filler line; `wide` lines hold characters outside ASCII (accented Latin, CJK, an emoji
/// outside the BMP), for the encodings that can write them.
fn filler(rng: &mut Rng, n: u64, wide: bool) -> String {
    if wide && rng.one_in(4) {
        return match rng.below(4) {
            0 => format!("greeting_{n} = h\u{e9}llo w\u{f6}rld {n}"),
            1 => format!("label_{n} = \u{65e5}\u{672c}\u{8a9e}\u{306e}\u{30e9}\u{30d9}\u{30eb} {n}"),
            2 => format!("launch_{n} = \u{1f680} liftoff at {n}"),
            _ => format!("# \u{3053}\u{308c}\u{306f}\u{8aac}\u{660e}\u{3067}\u{3059} number {n}"),
        };
    }
    match rng.below(5) {
        0 => format!("setting_{n} = plain value number {n}"),
        1 => format!("# comment {n} about how the service is deployed"),
        2 => format!("name_{n}: service number {n}"),
        3 => format!("timeout_{n} = {n}0"),
        _ => format!("[section {n}]"),
    }
}

// ---------------------------------------------------------------------------------------------
// Encodings and prefixes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encoding {
    Utf8 {
        bom: bool,
    },
    Utf16 {
        little_endian: bool,
        bom: bool,
    },
    Utf32 {
        little_endian: bool,
        bom: bool,
    },
    /// Code page 037, a line break written as `newline` (0x25 LF, or 0x15 NL as z/OS writes it).
    Ebcdic {
        newline: u8,
    },
}

impl Encoding {
    fn random(rng: &mut Rng) -> Encoding {
        let little_endian = rng.one_in(2);
        let bom = rng.one_in(2);
        // UTF-8 more often: most prefixes go with it alone (see `supported`).
        match rng.below(8) {
            0..=2 => Encoding::Utf8 { bom },
            3 | 4 => Encoding::Utf16 { little_endian, bom },
            5 | 6 => Encoding::Utf32 { little_endian, bom },
            _ => Encoding::Ebcdic {
                newline: *rng.pick(&[0x25, 0x15]),
            },
        }
    }

    /// Whether the encoding writes characters outside ASCII.
    fn unicode(self) -> bool {
        !matches!(self, Encoding::Ebcdic { .. })
    }

    fn encode(self, text: &str) -> Vec<u8> {
        match self {
            Encoding::Utf8 { bom } => {
                let mut out = if bom { vec![0xef, 0xbb, 0xbf] } else { Vec::new() };
                out.extend(text.as_bytes());
                out
            }
            Encoding::Utf16 { little_endian, bom } => bom
                .then_some(0xfeff)
                .into_iter()
                .chain(text.encode_utf16())
                .flat_map(|unit: u16| {
                    if little_endian {
                        unit.to_le_bytes()
                    } else {
                        unit.to_be_bytes()
                    }
                })
                .collect(),
            Encoding::Utf32 { little_endian, bom } => bom
                .then_some('\u{feff}')
                .into_iter()
                .chain(text.chars())
                .flat_map(|c| {
                    if little_endian {
                        (c as u32).to_le_bytes()
                    } else {
                        (c as u32).to_be_bytes()
                    }
                })
                .collect(),
            Encoding::Ebcdic { newline } => text.chars().map(|c| ebcdic(c, newline)).collect(),
        }
    }
}

/// A character in EBCDIC (code page 037), as `iconv -t IBM037` writes it.
fn ebcdic(c: char, newline: u8) -> u8 {
    const LOWER: [u8; 26] = [
        0x81, 0x82, 0x83, 0x84, 0x85, 0x86, 0x87, 0x88, 0x89, 0x91, 0x92, 0x93, 0x94, 0x95, 0x96, 0x97, 0x98,
        0x99, 0xA2, 0xA3, 0xA4, 0xA5, 0xA6, 0xA7, 0xA8, 0xA9,
    ];
    match c {
        'a'..='z' => LOWER[c as usize - 'a' as usize],
        'A'..='Z' => LOWER[c as usize - 'A' as usize] + 0x40,
        '0'..='9' => 0xF0 + (c as u8 - b'0'),
        '\n' => newline,
        '\r' => 0x0D,
        ' ' => 0x40,
        '.' => 0x4B,
        '+' => 0x4E,
        '-' => 0x60,
        '/' => 0x61,
        '_' => 0x6D,
        ':' => 0x7A,
        '#' => 0x7B,
        '\'' => 0x7D,
        '=' => 0x7E,
        '"' => 0x7F,
        '[' => 0xBA,
        ']' => 0xBB,
        '<' => 0x4C,
        '>' => 0x6E,
        other => panic!("no EBCDIC for {other:?}"),
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Bom {
    Utf8,
    Utf16 { little_endian: bool },
    Utf32 { little_endian: bool },
}

impl Bom {
    fn bytes(self) -> &'static [u8] {
        match self {
            Bom::Utf8 => &[0xef, 0xbb, 0xbf],
            Bom::Utf16 { little_endian: true } => &[0xff, 0xfe],
            Bom::Utf16 { little_endian: false } => &[0xfe, 0xff],
            Bom::Utf32 { little_endian: true } => &[0xff, 0xfe, 0, 0],
            Bom::Utf32 { little_endian: false } => &[0, 0, 0xfe, 0xff],
        }
    }
}

/// What is put in front of the encoded text (or, for `Nul`, into its first KiB).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prefix {
    None,
    /// `%PDF-1.minor` and a line break, and sometimes the binary comment line PDFs carry.
    Pdf {
        minor: u8,
        crlf: bool,
        comment: bool,
    },
    /// The PNG signature, sometimes with an IHDR chunk, and a line break.
    Png {
        ihdr: bool,
    },
    /// One NUL byte at a random place of the first KiB, outside the secret's lines.
    Nul,
    /// A byte-order mark that is not the text's.
    Bom(Bom),
    /// One byte (a NUL, or a letter) inserted inside wide text, anywhere before the secret's
    /// lines: every code unit after it is a byte or more out of step.
    Stray {
        byte: u8,
    },
}

impl Prefix {
    fn random(rng: &mut Rng) -> Prefix {
        let little_endian = rng.one_in(2);
        match rng.below(11) {
            0..=2 => Prefix::None,
            3 => Prefix::Pdf {
                minor: rng.below(8) as u8,
                crlf: rng.one_in(3),
                comment: rng.one_in(2),
            },
            4 => Prefix::Png { ihdr: rng.one_in(2) },
            5 | 6 => Prefix::Nul,
            7 => Prefix::Bom(Bom::Utf8),
            8 => Prefix::Bom(Bom::Utf16 { little_endian }),
            9 => Prefix::Bom(Bom::Utf32 { little_endian }),
            _ => Prefix::Stray {
                byte: *rng.pick(&[0, 0, b'X', b'7']),
            },
        }
    }

    fn bytes(self, rng: &mut Rng) -> Vec<u8> {
        match self {
            Prefix::None | Prefix::Nul | Prefix::Stray { .. } => Vec::new(),
            Prefix::Pdf { minor, crlf, comment } => {
                let eol: &[u8] = if crlf { b"\r\n" } else { b"\n" };
                let mut out = format!("%PDF-1.{minor}").into_bytes();
                out.extend(eol);
                if comment {
                    out.extend(b"%\xe2\xe3\xcf\xd3");
                    out.extend(eol);
                }
                out
            }
            Prefix::Png { ihdr } => {
                let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
                if ihdr {
                    out.extend(b"\0\0\0\rIHDR");
                    // Width, height, depth, colour type, and the rest, as random bytes.
                    out.extend((0..17).map(|_| rng.next() as u8));
                }
                out.push(b'\n');
                out
            }
            Prefix::Bom(bom) => bom.bytes().to_vec(),
        }
    }
}

/// Where a case's secret must be reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lines {
    /// At its line of the text.
    Exact,
    /// At line 1: the file's bytes are searched as a binary's.
    File,
    /// At its line, or at line 1 (a NUL makes a file a binary unless a UTF-8 byte-order mark
    /// says it is text).
    TextOrFile,
    /// At some line: a stray byte inside wide text makes the file a binary, or text read back
    /// in step, and either may count the lines before the stray byte as it reads them.
    Somewhere,
}

/// How the secret is reported when `prefix` is in front of text in `encoding`; None for the
/// combinations not generated.
fn supported(encoding: Encoding, prefix: Prefix) -> Option<Lines> {
    use Encoding::*;
    match (encoding, prefix) {
        (_, Prefix::None) => Some(Lines::Exact),
        // README: a %PDF or PNG signature or a NUL does not wave text through, and a
        // byte-order mark is a claim the bytes must bear out.
        (Utf8 { .. }, Prefix::Pdf { .. } | Prefix::Png { .. }) => Some(Lines::File),
        (Utf8 { .. }, Prefix::Nul) => Some(Lines::TextOrFile),
        (Utf8 { .. }, Prefix::Bom(Bom::Utf16 { .. } | Bom::Utf32 { .. })) => Some(Lines::Exact),
        // Two UTF-8 marks are not a wrong one.
        (Utf8 { .. }, Prefix::Bom(Bom::Utf8)) => None,
        // Wide text behind any mark (of another kind or byte order too) is read from where
        // its NULs say it starts.
        (Utf16 { .. } | Utf32 { .. }, Prefix::Bom(_)) => Some(Lines::Exact),
        // Wide text with a stray byte inside is read back in step after it.
        (Utf16 { .. } | Utf32 { .. }, Prefix::Stray { .. }) => Some(Lines::Somewhere),
        (_, Prefix::Stray { .. }) => None,
        // EBCDIC behind any prefix (or with a NUL inside) is read from the prefix's last line
        // break. Behind a binary prefix (`%PDF`, PNG, a NUL) only the first window (1 MiB) is,
        // as for wide text behind a signature; the cases here are smaller.
        (Ebcdic { .. }, _) => Some(Lines::Exact),
        // Known gaps, not generated (every mode passes them):
        // - wide text behind a signature (`%PDF`, PNG): found (hand-written cases in
        //   `hostile_round_seven.rs`), but at a line that depends on how the file is read: a
        //   binary counts the signature's line breaks, wide text read from its first byte does
        //   not, so the model here has no one line to expect;
        // - EBCDIC or wide text behind a binary prefix past the file's first MiB.
        (Utf16 { .. } | Utf32 { .. }, _) => None,
    }
}

// ---------------------------------------------------------------------------------------------
// Cases.

#[derive(Debug)]
struct Case {
    seed: u64,
    kind: Kind,
    encoding: Encoding,
    prefix: Prefix,
    lines: Lines,
    crlf: bool,
    path: String,
    text: String,
    bytes: Vec<u8>,
    /// (rule, 1-based line of the text) of each finding the case must have.
    expected: Vec<(&'static str, usize)>,
    values: Vec<String>,
}

impl Case {
    fn new(seed: u64, benign: bool) -> Case {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x0e2c_0d15 ^ u64::from(benign));
        Case::draw(seed, benign, &mut rng)
    }

    fn draw(seed: u64, benign: bool, rng: &mut Rng) -> Case {
        let kind = *rng.pick(&KINDS);
        // The encoding first, then a prefix among those that go with it.
        let encoding = Encoding::random(rng);
        let (prefix, lines) = loop {
            let prefix = Prefix::random(rng);
            if let Some(lines) = supported(encoding, prefix) {
                break (prefix, lines);
            }
        };
        let secret = secret(kind, rng, seed, benign);
        let wide = encoding.unicode();
        let mut next = seed * 1000;
        let mut fillers = |rng: &mut Rng, count: usize| -> Vec<String> {
            (0..count)
                .map(|_| {
                    next += 1;
                    filler(rng, next, wide)
                })
                .collect()
        };
        // Sometimes far enough down that the secret lies past the first block (8 KiB).
        let before = if rng.one_in(8) {
            150 + rng.below(250)
        } else {
            rng.below(30)
        };
        let mut lines_of_text = fillers(rng, before);
        let at = lines_of_text.len();
        lines_of_text.extend(secret.lines.iter().cloned());
        let after = rng.below(20);
        lines_of_text.extend(fillers(rng, after));
        let crlf = rng.one_in(3);
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut text = lines_of_text.join(eol);
        if !rng.one_in(4) {
            text.push_str(eol);
        }
        let mut bytes = prefix.bytes(rng);
        // The prefix's own line breaks come before the text's lines.
        let prefix_lines = bytes.iter().filter(|&&b| b == b'\n').count();
        bytes.extend(encoding.encode(&text));
        if prefix == Prefix::Nul {
            // The secret's bytes (8-bit text: UTF-8, so byte offsets of the text), from the
            // start of its first line to the end of its last, are left alone.
            let bom = bytes.len() - text.len();
            let start: usize = lines_of_text[..at].iter().map(|l| l.len() + eol.len()).sum();
            let end = start + secret.lines.join(eol).len();
            let places: Vec<usize> = (0..=bytes.len().min(1024))
                .filter(|&p| p + 1 < bom + start || p > bom + end)
                .collect();
            let place = if places.is_empty() { 0 } else { *rng.pick(&places) };
            bytes.insert(place, 0);
        }
        if let Prefix::Stray { byte } = prefix {
            // Anywhere from the text's first byte (after its own mark) to its secret's line: a
            // stray byte goes with no prefix (see `supported`), so the text starts the file.
            let before_secret: String = lines_of_text[..at].iter().map(|l| format!("{l}{eol}")).collect();
            let secret_at = encoding.encode(&before_secret).len();
            let first = encoding.encode("").len();
            if secret_at > first {
                bytes.insert(first + rng.below(secret_at - first), byte);
            }
        }
        let dir = *rng.pick(&["", "config/", "deploy/", "jobs/"]);
        let stem = *rng.pick(&["settings", "app", "deploy", "notes", "values"]);
        let ext = *rng.pick(&["cfg", "ini", "txt", "env", "conf", "properties"]);
        let kind_tag = if benign { "benign" } else { "c" };
        let path = format!("{kind_tag}{seed}/{dir}{stem}.{ext}");
        let expected = if benign {
            Vec::new()
        } else {
            secret
                .rules
                .iter()
                .map(|&(rule, index)| (rule, prefix_lines + at + index + 1))
                .collect()
        };
        Case {
            seed,
            kind,
            encoding,
            prefix,
            lines,
            crlf,
            path,
            text,
            bytes,
            expected,
            values: if benign { Vec::new() } else { secret.values },
        }
    }

    /// Everything needed to read a failure.
    fn describe(&self) -> String {
        let head: Vec<u8> = self.bytes.iter().copied().take(48).collect();
        format!(
            "seed {seed} (replay with {SEEDS}_SEED={seed}): {:?} as {:?} behind {:?} in {}, crlf {}, expected {:?} ({:?})\nfirst bytes: {head:02x?}\ntext: {:?}",
            self.kind,
            self.encoding,
            self.prefix,
            self.path,
            self.crlf,
            self.expected,
            self.lines,
            self.text,
            seed = self.seed,
        )
    }

    /// Whether `got`, the lines a mode reported the rule at, is where the case says.
    fn at_its_lines(&self, line: usize, got: &BTreeSet<usize>) -> bool {
        let exact = BTreeSet::from([line]);
        let file = BTreeSet::from([1]);
        match self.lines {
            Lines::Exact => *got == exact,
            Lines::File => *got == file,
            Lines::TextOrFile => *got == exact || *got == file,
            Lines::Somewhere => !got.is_empty(),
        }
    }

    fn features(&self) -> Vec<String> {
        let encoding = match self.encoding {
            Encoding::Ebcdic { .. } => "encoding Ebcdic".to_string(),
            other => format!("encoding {other:?}"),
        };
        let prefix = match self.prefix {
            Prefix::Pdf { .. } => "prefix Pdf".to_string(),
            Prefix::Png { .. } => "prefix Png".to_string(),
            Prefix::Stray { byte: 0 } => "prefix Stray NUL".to_string(),
            Prefix::Stray { .. } => "prefix Stray letter".to_string(),
            other => format!("prefix {other:?}"),
        };
        let kind = match self.kind {
            Kind::Pem(_) => "secret Pem".to_string(),
            other => format!("secret {other:?}"),
        };
        vec![encoding, prefix, kind, format!("lines {:?}", self.lines)]
    }
}

// ---------------------------------------------------------------------------------------------
// Running the binary.

/// One finding line of the console: `path:line:column  rule  …  (level, …)`.
#[derive(Debug)]
struct Found {
    path: String,
    line: usize,
    rule: String,
    error: bool,
}

fn scan(repo: &std::path::Path, args: &[&str]) -> (Run, Vec<Found>) {
    let mut all = vec!["--path", ".", "--no-sarif"];
    all.extend_from_slice(args);
    let run = anteater(repo).args(&all).run();
    let found = run
        .stdout
        .lines()
        .filter_map(|line| {
            let mut fields = line.split("  ");
            let location = fields.next()?;
            let rule = fields.next()?.to_string();
            let mut parts = location.rsplitn(3, ':');
            parts.next()?.parse::<usize>().ok()?;
            let number = parts.next()?.parse().ok()?;
            Some(Found {
                path: parts.next()?.to_string(),
                line: number,
                rule,
                error: line.contains("(error"),
            })
        })
        .collect();
    (run, found)
}

/// Compares one mode's findings with what each case expects: each expected rule at its line
/// (as the case's `Lines` says), no other error in the file, no secret in the output. Panics
/// naming every case that differs.
fn compare(cases: &[Case], mode: &str, (run, found): &(Run, Vec<Found>)) -> usize {
    let mut report = String::new();
    let mut count = 0;
    let output = run.all_output();
    for case in cases {
        let mut problems = Vec::new();
        for &(rule, line) in &case.expected {
            let got: BTreeSet<usize> = found
                .iter()
                .filter(|f| f.path == case.path && f.rule == rule)
                .map(|f| f.line)
                .collect();
            if case.at_its_lines(line, &got) {
                count += 1;
            } else {
                problems.push(format!("expected {rule} at line {line}, got {got:?}"));
            }
        }
        let others: Vec<&Found> = found
            .iter()
            .filter(|f| {
                f.path == case.path && f.error && !case.expected.iter().any(|(rule, _)| f.rule == *rule)
            })
            .collect();
        if !others.is_empty() {
            problems.push(format!("other errors in the file: {others:?}"));
        }
        if case.values.iter().any(|value| output.contains(value.as_str())) {
            problems.push("the secret was printed".to_string());
        }
        if !problems.is_empty() {
            report.push_str(&format!(
                "{mode}: {}\n{}\n\n",
                problems.join("; "),
                case.describe()
            ));
        }
    }
    let exit = i32::from(cases.iter().any(|c| !c.expected.is_empty()));
    if report.is_empty() && run.code != exit {
        report.push_str(&format!("{mode}: exit code {} (expected {exit})\n", run.code));
    }
    assert!(report.is_empty(), "{report}\n{output}");
    count
}

/// Runs a batch of cases in one repository, each in its own folder: a base commit without them,
/// the files staged and then committed. Each mode runs once for the batch.
fn check_batch(cases: &[Case], counts: &mut BTreeMap<String, usize>) {
    let show = std::env::var_os(format!("{SEEDS}_SHOW")).is_some();
    for case in cases {
        if show {
            let _ = writeln!(std::io::stderr(), "{}\n", case.describe());
        }
        for feature in case.features() {
            *counts.entry(feature).or_default() += 1;
        }
    }
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    let base = repo.commit("base");
    for case in cases {
        repo.write(&case.path, &case.bytes);
    }
    let dir = repo.path();
    let mut reported = vec![("tree", compare(cases, "tree", &scan(dir, &[])))];
    repo.git(&["add", "-A"]);
    reported.push(("--staged", compare(cases, "--staged", &scan(dir, &["--staged"]))));
    repo.commit("the change");
    reported.push((
        "--diff",
        compare(cases, "--diff BASE", &scan(dir, &["--diff", &base])),
    ));
    reported.push((
        "--history",
        compare(cases, "--history", &scan(dir, &["--history"])),
    ));
    for (mode, n) in reported {
        *counts.entry(format!("reported in {mode}")).or_default() += n;
    }
}

/// Prints what the cases covered, when a run asked for a number of cases (or to see them):
/// written to the terminal, not to the captured output, so that a passing run shows it too.
fn print_counts(what: &str, counts: &BTreeMap<String, usize>) {
    let asked = ["CASES", "SHOW"]
        .iter()
        .any(|v| std::env::var_os(format!("{SEEDS}_{v}")).is_some());
    if !asked {
        return;
    }
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "{what}:");
    for (feature, n) in counts {
        let _ = writeln!(err, "  {n:5}  {feature}");
    }
}

#[test]
fn a_secret_in_any_encoding_behind_any_hostile_prefix_is_reported_in_every_mode() {
    let seeds = seeds(SEEDS, DEFAULT_CASES);
    let mut counts = BTreeMap::new();
    for batch in seeds.chunks(BATCH) {
        let cases: Vec<Case> = batch.iter().map(|&seed| Case::new(seed, false)).collect();
        check_batch(&cases, &mut counts);
    }
    print_counts(&format!("{} cases", seeds.len()), &counts);
    assert!(
        ["tree", "--staged", "--diff", "--history"]
            .iter()
            .all(|m| counts[&format!("reported in {m}")] > 0),
        "every mode had secrets to report: {counts:?}"
    );
}

#[test]
fn benign_text_in_the_same_encodings_and_prefixes_fails_no_gate() {
    let seeds = seeds(SEEDS, DEFAULT_CASES);
    let mut counts = BTreeMap::new();
    for batch in seeds.chunks(BATCH) {
        let cases: Vec<Case> = batch.iter().map(|&seed| Case::new(seed, true)).collect();
        check_batch(&cases, &mut counts);
    }
    print_counts(&format!("{} benign cases", seeds.len()), &counts);
}
