//! Property tests for the decoded view (issue 18, `src/inspect/decoded/`). Each case is a file
//! that hides one real-format secret (a GitHub token, an AWS access key id, an AWS secret access
//! key, a Slack token, a PEM private key) behind a random chain of the forms the inspector
//! undoes: base64 (standard or URL-safe, padded or not) and hex runs, nested twice; `\u`, `\u{}`,
//! `\U`, `\x`, percent and HTML-entity escapes of some or all characters; quoted-printable with
//! soft line breaks (in a mail that says so); zero-width characters, a soft hyphen or an inner
//! byte-order mark inside it; string literals glued by `+ . .. || & ~`, adjacency or continued
//! lines, in every quote style (`"`, `'`, `` ` ``); a value named by a field of its own (ECS,
//! Kubernetes `env`, CloudFormation parameters). The line sits at a random place among other
//! lines, in LF or CRLF, with or without a final line break.
//!
//! The binary must report the secret by its rule at its line in a tree scan, and in `--staged`,
//! `--diff BASE`, `--diff BASE..HEAD` and `--history` when the change wrote it: as a new file, as
//! lines inserted, or by completing a secret the base held damaged (so that only some of its
//! lines change). A change that only touches the file's other lines reports nothing there: the
//! old secret belongs to the base (and `--history` reports it at the base's commit). Benign text
//! through the same chains (base64 of prose, hex of random bytes, glued words, ordinary names
//! and values) fails no gate.
//!
//! Seeded: a failure names its seed, and `ANTEATER_DECODED_SEED=N` replays it;
//! `ANTEATER_DECODED_CASES=N` runs N cases of each test (24 by default: the file takes about 7 s in
//! a debug build). Run a few hundred before changing `src/inspect/decoded/` or the rules they
//! feed: `ANTEATER_DECODED_CASES=300 cargo test --test cli hostile_decoded` (about 45 s; with
//! `_CASES` set, the counts of what the cases covered are printed, and `ANTEATER_DECODED_SHOW=1`
//! prints each case).

use std::collections::{BTreeMap, BTreeSet};
use std::io::Write as _;

use base64::Engine as _;

use crate::common::{anteater, Run};
use crate::support::git_repo::GitRepo as Repo;
use crate::support::seeded::{github_token, pem_body, seeds, Rng};

const SEEDS: &str = "ANTEATER_DECODED";
/// Cases per test by default. Cases share one repository and one run of each mode (see
/// `check_batch`): 24 cases cost five runs of the binary, a few seconds in a debug build.
const DEFAULT_CASES: u64 = 24;
/// Cases that share one repository.
const BATCH: usize = 24;

// ---------------------------------------------------------------------------------------------
// Secrets.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    GitHub,
    AwsKeyId,
    AwsSecret,
    Slack,
    /// A PEM key, by its index in `PEM_KINDS`.
    Pem(usize),
}

/// The AWS secret is drawn more often: it alone is known by its name, so it alone is written as
/// a name/value pair.
const KINDS: [Kind; 9] = [
    Kind::GitHub,
    Kind::AwsKeyId,
    Kind::AwsSecret,
    Kind::AwsSecret,
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

impl Kind {
    fn rule(self) -> &'static str {
        match self {
            Kind::GitHub => "github-token",
            Kind::AwsKeyId => "aws-access-key-id",
            Kind::AwsSecret => "aws-secret-access-key",
            Kind::Slack => "slack-token",
            Kind::Pem(k) => PEM_KINDS[k].1,
        }
    }

    /// Names a value of this kind is assigned to.
    fn names(self) -> &'static [&'static str] {
        match self {
            Kind::GitHub => &["GITHUB_TOKEN", "gh_token", "deployToken", "token"],
            Kind::AwsKeyId => &[
                "aws_access_key_id",
                "AWS_ACCESS_KEY_ID",
                "AccessKeyId",
                "accessKeyId",
            ],
            Kind::AwsSecret => &[
                "aws_secret_access_key",
                "AWS_SECRET_ACCESS_KEY",
                "awsSecretAccessKey",
                "secretAccessKey",
                "SecretAccessKey",
                "aws_secret_key",
                "AWS_SECRET_KEY",
                "secret_key",
            ],
            Kind::Slack => &["SLACK_BOT_TOKEN", "slackToken", "slack_token"],
            Kind::Pem(_) => &["private_key", "DEPLOY_KEY", "sshKey", "tls_key"],
        }
    }
}

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

/// `secret` with eight characters at a random place from `from` on replaced by `x`: a
/// placeholder, which no rule reports (and which breaks an AWS key id's upper-case alphabet).
fn damaged(secret: &str, from: usize, rng: &mut Rng) -> String {
    let at = from + rng.below(secret.len() - from - 8 + 1);
    format!("{}xxxxxxxx{}", &secret[..at], &secret[at + 8..])
}

/// A secret of `kind`, made at run time from the generator (fake by construction), and the same
/// secret damaged so that no rule reports it: what the base of a change that completes it held.
fn secret(kind: Kind, rng: &mut Rng, n: u64) -> (String, String) {
    let secret = match kind {
        Kind::GitHub => github_token(n),
        Kind::AwsKeyId => loop {
            let id = format!("AKIA{}", chars(rng, b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567", 16));
            if id.bytes().collect::<BTreeSet<u8>>().len() >= 10 {
                break id;
            }
        },
        Kind::AwsSecret => loop {
            let key = chars(rng, BASE64_ALPHABET, 40);
            if entropy(&key) >= 4.5 {
                break key;
            }
        },
        Kind::Slack => {
            let digits =
                |rng: &mut Rng, n: usize| format!("{}{}", 1 + rng.below(9), chars(rng, b"0123456789", n - 1));
            let team = digits(rng, 12);
            let user = digits(rng, 13);
            let flavour = *rng.pick(&["b", "p"]);
            format!("xox{flavour}-{team}-{user}-{}", chars(rng, ALNUM, 24))
        }
        // A key is written on one line (its breaks escaped or encoded). Not generated, a known
        // gap: a key on its own lines with an invisible character in its header is not found
        // (the decoded copy holds the header's line alone, and no body follows it there).
        Kind::Pem(k) => {
            let label = PEM_KINDS[k].0;
            let body = pem_body(n, 3 + rng.below(8)).join("\n");
            let end = if rng.one_in(2) { "\n" } else { "" };
            let key = |private: &str| {
                format!(
                    "-----BEGIN {label}{private} {k}-----\n{body}\n-----END {label}PRIVATE {k}-----{end}",
                    k = "KEY"
                )
            };
            return (key("PRIVATE"), key("PRIVATX"));
        }
    };
    let from = match kind {
        Kind::GitHub | Kind::AwsKeyId => 4,
        Kind::Slack => secret.len() - 24,
        _ => 0,
    };
    let broken = damaged(&secret, from, rng);
    (secret, broken)
}

// ---------------------------------------------------------------------------------------------
// How a value is written.

/// A run encoding, applied to the whole text.
#[derive(Debug, Clone, Copy)]
enum Layer {
    Base64 { url_safe: bool, padded: bool },
    Hex { upper: bool, prefixed: bool },
}

impl Layer {
    fn random(rng: &mut Rng) -> Layer {
        if rng.one_in(3) {
            Layer::Hex {
                upper: rng.one_in(3),
                prefixed: rng.one_in(4),
            }
        } else {
            Layer::Base64 {
                url_safe: rng.one_in(3),
                padded: !rng.one_in(3),
            }
        }
    }

    fn apply(self, text: &str) -> String {
        use base64::engine::general_purpose::{STANDARD, STANDARD_NO_PAD, URL_SAFE, URL_SAFE_NO_PAD};
        match self {
            Layer::Base64 { url_safe, padded } => match (url_safe, padded) {
                (false, true) => STANDARD.encode(text),
                (false, false) => STANDARD_NO_PAD.encode(text),
                (true, true) => URL_SAFE.encode(text),
                (true, false) => URL_SAFE_NO_PAD.encode(text),
            },
            Layer::Hex { upper, prefixed } => {
                let digits: String = text
                    .bytes()
                    .map(|b| {
                        if upper {
                            format!("{b:02X}")
                        } else {
                            format!("{b:02x}")
                        }
                    })
                    .collect();
                if prefixed {
                    format!("0x{digits}")
                } else {
                    digits
                }
            }
        }
    }
}

/// An escape spelling of a character.
#[derive(Debug, Clone, Copy)]
enum Esc {
    /// `\u0041`
    U4,
    /// `\u{41}`
    UBrace,
    /// `\U00000041`
    U8,
    /// `\x41`, byte by byte
    X,
    /// `%41`, byte by byte
    Percent,
    /// `&#65;` (and `&sol;` for a slash)
    Dec,
    /// `&#x41;`
    HexEntity,
}

const ESCAPES: [Esc; 7] = [
    Esc::U4,
    Esc::UBrace,
    Esc::U8,
    Esc::X,
    Esc::Percent,
    Esc::Dec,
    Esc::HexEntity,
];

fn escape(c: char, style: Esc, variant: u64) -> String {
    let upper = variant & 1 == 1;
    let hex = |value: u32, width: usize| {
        if upper {
            format!("{value:0width$X}")
        } else {
            format!("{value:0width$x}")
        }
    };
    let code = c as u32;
    let mut buffer = [0; 4];
    let bytes = c.encode_utf8(&mut buffer).as_bytes();
    match style {
        Esc::U4 => format!("\\u{}", hex(code, 4)),
        Esc::UBrace => format!("\\u{{{}}}", hex(code, 1)),
        Esc::U8 => format!("\\U{}", hex(code, 8)),
        Esc::X => bytes
            .iter()
            .map(|&b| format!("\\x{}", hex(u32::from(b), 2)))
            .collect(),
        Esc::Percent => bytes
            .iter()
            .map(|&b| format!("%{}", hex(u32::from(b), 2)))
            .collect(),
        Esc::Dec if c == '/' && variant & 2 != 0 => "&sol;".to_string(),
        Esc::Dec => format!("&#{code};"),
        Esc::HexEntity => format!("&#{}{};", if upper { "X" } else { "x" }, hex(code, 1)),
    }
}

/// Zero-width space, non-joiner, joiner, word joiner, a byte-order mark inside text, the soft
/// hyphen.
const INVISIBLE: [char; 6] = [
    '\u{200B}', '\u{200C}', '\u{200D}', '\u{2060}', '\u{FEFF}', '\u{00AD}',
];

/// How the line breaks between glued literals.
#[derive(Debug, Clone, Copy)]
enum Break {
    /// `"a" + "b"`
    Inline,
    /// `"a" +` ⏎ `"b"`
    TrailingOp,
    /// `"a"` ⏎ `+ "b"`
    LeadingOp,
    /// `"a" \` ⏎ `"b"`
    Backslash,
}

/// How a language glues literals: the operator (a space: adjacency), the quotes it glues, where
/// a line may break, the prefixes a literal may carry (`f"…"`, `L"…"`), and whether a
/// continuation backslash follows the literal with no space (shell).
struct GlueSpec {
    op: &'static str,
    quotes: &'static [char],
    breaks: &'static [Break],
    prefixes: &'static [&'static str],
    tight: bool,
}

#[derive(Debug, Clone)]
struct Glue {
    op: &'static str,
    quote: char,
    pieces: usize,
    breaks: &'static [Break],
    prefixes: &'static [&'static str],
    tight: bool,
}

/// A line a value is written on: `{N}` stands for the name. `assigns`: the name is assigned the
/// value (`N = value`, `N: value`), as a rule that knows a secret by its name needs.
struct Template {
    prefix: &'static str,
    suffix: &'static str,
    assigns: bool,
    quotes: &'static [Option<char>],
}

const fn t(
    prefix: &'static str,
    suffix: &'static str,
    assigns: bool,
    quotes: &'static [Option<char>],
) -> Template {
    Template {
        prefix,
        suffix,
        assigns,
        quotes,
    }
}

const ANY_QUOTE: &[Option<char>] = &[Some('"'), Some('\''), Some('`')];
const PLAIN_QUOTES: &[Option<char>] = &[Some('"'), Some('\'')];
const BARE_OR_QUOTED: &[Option<char>] = &[None, Some('"'), Some('\'')];
const DOUBLE: &[Option<char>] = &[Some('"')];
const SINGLE: &[Option<char>] = &[Some('\'')];
const BARE: &[Option<char>] = &[None];
const DOUBLE_OR_BACKTICK: &[Option<char>] = &[Some('"'), Some('`')];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lang {
    Env,
    Shell,
    Yaml,
    Json,
    Python,
    Js,
    Go,
    Php,
    Lua,
    Sql,
    Vb,
    D,
    Java,
    C,
    Toml,
    Xml,
    Html,
    Url,
    Markdown,
    Eml,
}

const LANGS: [Lang; 20] = [
    Lang::Env,
    Lang::Shell,
    Lang::Yaml,
    Lang::Json,
    Lang::Python,
    Lang::Js,
    Lang::Go,
    Lang::Php,
    Lang::Lua,
    Lang::Sql,
    Lang::Vb,
    Lang::D,
    Lang::Java,
    Lang::C,
    Lang::Toml,
    Lang::Xml,
    Lang::Html,
    Lang::Url,
    Lang::Markdown,
    Lang::Eml,
];

impl Lang {
    fn ext(self) -> &'static str {
        match self {
            Lang::Env => "env",
            Lang::Shell => "sh",
            Lang::Yaml => "yaml",
            Lang::Json => "json",
            Lang::Python => "py",
            Lang::Js => "js",
            Lang::Go => "go",
            Lang::Php => "php",
            Lang::Lua => "lua",
            Lang::Sql => "sql",
            Lang::Vb => "vb",
            Lang::D => "d",
            Lang::Java => "java",
            Lang::C => "c",
            Lang::Toml => "toml",
            Lang::Xml => "xml",
            Lang::Html => "html",
            Lang::Url => "txt",
            Lang::Markdown => "md",
            Lang::Eml => "eml",
        }
    }

    /// An ordinary line, unique by `n`: no quote ends it before an operator, no `=` or `\` ends
    /// it, it names no field `name`/`key`/`value`, and no rule reports it.
    fn filler(self, n: u64) -> String {
        let even = n % 2 == 0;
        match self {
            Lang::Env | Lang::Toml => match even {
                true => format!("# note {n}: reviewed by ops"),
                false => format!("retries_{n} = 3"),
            },
            Lang::Shell => match even {
                true => format!("# step {n} of the deploy"),
                false => format!("echo \"step {n} done\""),
            },
            Lang::Yaml => match even {
                true => format!("# note {n}"),
                false => format!("retries_{n}: 3"),
            },
            Lang::Json => format!("  \"retries_{n}\": {n},"),
            Lang::Python => match even {
                true => format!("# step {n} of the job"),
                false => format!("print(\"step {n}\")"),
            },
            Lang::Js | Lang::Go | Lang::Php | Lang::D | Lang::Java | Lang::C => match even {
                true => format!("// step {n} of the build"),
                false => format!("retries{n}++;"),
            },
            Lang::Lua | Lang::Sql => format!("-- step {n} of the migration"),
            Lang::Vb => format!("' step {n} of the build"),
            Lang::Xml | Lang::Html => match even {
                true => format!("<!-- part {n} -->"),
                false => format!("<p>Section {n} of the page</p>"),
            },
            Lang::Url => format!("# hook {n} for the nightly job"),
            Lang::Markdown => format!("Step {n}: run the deploy job."),
            Lang::Eml => format!("Line {n} of the weekly notes."),
        }
    }

    /// Lines that open every version of the file (a mail's headers).
    fn top(self) -> Vec<String> {
        match self {
            Lang::Eml => vec![
                "Subject: weekly notes".to_string(),
                "MIME-Version: 1.0".to_string(),
                "Content-Type: text/plain; charset=utf-8".to_string(),
                "Content-Transfer-Encoding: quoted-printable".to_string(),
                String::new(),
            ],
            _ => Vec::new(),
        }
    }

    fn templates(self) -> &'static [Template] {
        const ENV: &[Template] = &[t("{N}=", "", true, BARE_OR_QUOTED)];
        const SHELL: &[Template] = &[
            t("export {N}=", "", true, &[Some('"'), Some('\''), Some('`'), None]),
            t("{N}=", "", true, &[Some('"'), Some('\''), Some('`'), None]),
        ];
        const YAML: &[Template] = &[t("{N}: ", "", true, BARE_OR_QUOTED)];
        const JSON: &[Template] = &[
            t("\"{N}\": ", ",", true, DOUBLE),
            t("{\"{N}\": ", "}", true, DOUBLE),
        ];
        const PYTHON: &[Template] = &[
            t("{N} = ", "", true, PLAIN_QUOTES),
            t("{N} = ", "  # set by ci", true, PLAIN_QUOTES),
        ];
        const JS: &[Template] = &[
            t("const {N} = ", ";", true, ANY_QUOTE),
            t("{N}: ", ",", true, ANY_QUOTE),
            t("let {N} = ", "  // from the vault", true, ANY_QUOTE),
        ];
        const GO: &[Template] = &[
            t("{N} := ", "", true, DOUBLE_OR_BACKTICK),
            t("var {N} = ", "", true, DOUBLE_OR_BACKTICK),
        ];
        const PHP: &[Template] = &[
            t("${N} = ", ";", true, PLAIN_QUOTES),
            t("'{N}' => ", ",", true, PLAIN_QUOTES),
        ];
        const LUA: &[Template] = &[t("local {N} = ", "", true, PLAIN_QUOTES)];
        const SQL: &[Template] = &[t("UPDATE settings SET {N} = ", ";", true, SINGLE)];
        const VB: &[Template] = &[t("Dim {N} = ", "", true, DOUBLE)];
        const D: &[Template] = &[
            t("string {N} = ", ";", true, DOUBLE_OR_BACKTICK),
            t("enum {N} = ", ";", true, DOUBLE_OR_BACKTICK),
        ];
        const JAVA: &[Template] = &[t("private static final String {N} = ", ";", true, DOUBLE)];
        const C: &[Template] = &[t("static const char *{N} = ", ";", true, DOUBLE)];
        const TOML: &[Template] = &[t("{N} = ", "", true, PLAIN_QUOTES)];
        const XML: &[Template] = &[t("<{N}>", "</{N}>", false, BARE)];
        const HTML: &[Template] = &[t("<meta property=\"{N}\" content=", ">", false, DOUBLE)];
        const URL: &[Template] = &[
            t("curl -fsS https://ci.invalid/hooks/deploy?{N}=", "", true, BARE),
            t(
                "see https://ci.invalid/api?x=1&{N}=",
                "&y=2 for the hook",
                true,
                BARE,
            ),
        ];
        const MARKDOWN: &[Template] = &[
            t("The {N} is ", " for now.", false, &[None, Some('`')]),
            t("{N}: ", "", true, BARE),
            t("`{N}`: ", "", true, &[Some('`')]),
        ];
        const EML: &[Template] = &[
            t("{N}=", "", true, BARE),
            t("Your {N} is ", " until Friday.", false, BARE),
        ];
        match self {
            Lang::Env => ENV,
            Lang::Shell => SHELL,
            Lang::Yaml => YAML,
            Lang::Json => JSON,
            Lang::Python => PYTHON,
            Lang::Js => JS,
            Lang::Go => GO,
            Lang::Php => PHP,
            Lang::Lua => LUA,
            Lang::Sql => SQL,
            Lang::Vb => VB,
            Lang::D => D,
            Lang::Java => JAVA,
            Lang::C => C,
            Lang::Toml => TOML,
            Lang::Xml => XML,
            Lang::Html => HTML,
            Lang::Url => URL,
            Lang::Markdown => MARKDOWN,
            Lang::Eml => EML,
        }
    }

    fn glue(self) -> &'static [GlueSpec] {
        use Break::{Backslash, Inline, LeadingOp, TrailingOp};
        const fn g(
            op: &'static str,
            quotes: &'static [char],
            breaks: &'static [Break],
            prefixes: &'static [&'static str],
            tight: bool,
        ) -> GlueSpec {
            GlueSpec {
                op,
                quotes,
                breaks,
                prefixes,
                tight,
            }
        }
        const SHELL: &[GlueSpec] = &[g(" ", &['"', '\''], &[Backslash], &[], true)];
        const PYTHON: &[GlueSpec] = &[
            g("+", &['"', '\''], &[Inline, TrailingOp], &[], false),
            g(" ", &['"', '\''], &[Inline, Backslash], &["f", "r", "b"], false),
        ];
        const JS: &[GlueSpec] = &[g(
            "+",
            &['"', '\'', '`'],
            &[Inline, TrailingOp, LeadingOp],
            &[],
            false,
        )];
        const GO: &[GlueSpec] = &[g("+", &['"', '`'], &[Inline, TrailingOp], &[], false)];
        const PHP: &[GlueSpec] = &[g(".", &['\'', '"'], &[Inline, TrailingOp, LeadingOp], &[], false)];
        const LUA: &[GlueSpec] = &[g("..", &['"', '\''], &[Inline, TrailingOp], &[], false)];
        const SQL: &[GlueSpec] = &[g("||", &['\''], &[Inline, TrailingOp, LeadingOp], &[], false)];
        const VB: &[GlueSpec] = &[g("&", &['"'], &[Inline], &[], false)];
        const D: &[GlueSpec] = &[g("~", &['"', '`'], &[Inline, TrailingOp], &[], false)];
        const JAVA: &[GlueSpec] = &[g("+", &['"'], &[Inline, TrailingOp, LeadingOp], &[], false)];
        const C: &[GlueSpec] = &[g(" ", &['"'], &[Inline, Backslash], &["L", "u8"], false)];
        match self {
            Lang::Shell => SHELL,
            Lang::Python => PYTHON,
            Lang::Js => JS,
            Lang::Go => GO,
            Lang::Php => PHP,
            Lang::Lua => LUA,
            Lang::Sql => SQL,
            Lang::Vb => VB,
            Lang::D => D,
            Lang::Java => JAVA,
            Lang::C => C,
            _ => &[],
        }
    }
}

/// A name/value pair of fields (ECS task definitions, Kubernetes `env`, CloudFormation
/// parameters), the name up to three lines from the value, before or after it.
/// Not generated, a known gap: .NET's `<add key="AWS_SECRET_ACCESS_KEY" value="…" />` is read
/// as no pair (a name field must end its field, and ` value=` follows it).
#[derive(Debug, Clone, Copy)]
enum PairFormat {
    EcsOneLine { value_first: bool },
    EcsPretty { value_first: bool, between: usize },
    CfnOneLine,
    CfnPretty { between: usize },
    K8s { value_first: bool },
}

#[derive(Debug, Clone)]
enum Form {
    /// One line: the value (quoted or bare) in a template.
    Line {
        template: usize,
        quote: Option<char>,
    },
    /// The value cut into literals glued back, on one line or continued over several.
    Glued {
        template: usize,
        glue: Glue,
    },
    /// A mail's quoted-printable line: `=XX` escapes and soft line breaks.
    QuotedPrintable {
        template: usize,
        percent: u8,
        breaks: usize,
    },
    Pair {
        format: PairFormat,
        quote: Option<char>,
    },
}

/// Everything random about how a value is written, drawn before the value is known: a secret
/// and its damaged twin are written by the same plan, so that they differ only where the damage
/// is (and a change that completes the secret rewrites only the lines holding it).
#[derive(Debug, Clone)]
struct Plan {
    lang: Lang,
    form: Form,
    /// The name on the line (or the pair's name).
    name: String,
    /// The runs encode `blob(format, name, value)` (a config blob), not the value alone.
    blob: Option<(usize, String)>,
    /// Run encodings, innermost first.
    layers: Vec<Layer>,
    invisible: usize,
    /// The escape spelling and how many characters in a hundred are escaped.
    escape: Option<(Esc, u8)>,
    escape_name: bool,
    indent: &'static str,
    /// Positions (cuts, escaped characters, invisible characters) are drawn from this seed.
    seed: u64,
}

const BENIGN_NAMES: [&str; 8] = [
    "greeting",
    "motd",
    "LOG_LEVEL",
    "region",
    "banner",
    "title",
    "welcome_message",
    "APP_MODE",
];
const BLOB_NAMES: [&str; 4] = ["CONFIG_B64", "settings_blob", "payload", "deploy_env"];

/// A config blob holding the value: what a whole-file base64 (a Kubernetes Secret's data, an
/// env file in a CI variable) decodes to.
fn blob(format: usize, name: &str, value: &str) -> String {
    match format {
        0 => format!("{name}={value}"),
        1 => format!("{name}: {value}"),
        2 => format!("{{\"{name}\": \"{value}\"}}"),
        3 => format!("region=eu-west-1\n{name}={value}\n"),
        // A file of bare values: the value starts a line.
        _ => format!("# ci settings\n{value}\n"),
    }
}

/// A random plan for a value of `kind` (None: a benign value).
fn plan(rng: &mut Rng, kind: Option<Kind>) -> Plan {
    let names: &[&str] = kind.map_or(&BENIGN_NAMES[..], Kind::names);
    // Only the AWS secret needs its name assigned on the line (or inside its blob).
    let needs_name = kind == Some(Kind::AwsSecret);
    let paired = matches!(kind, Some(Kind::AwsSecret) | None) && rng.one_in(4);
    // A blob is always run-encoded. Not generated, a known gap of the plain view (not the
    // decoded one): a blob written in a string with literal `\n` breaks, `"…\nghp_…"`, hides
    // the token from its rule's `\b`.
    let whole = !paired && rng.one_in(4);
    let layers = match (whole, rng.below(20)) {
        (false, 0..=7) => 0,
        (_, 0..=14) => 1,
        _ => 2,
    };
    let layers = (0..layers).map(|_| Layer::random(rng)).collect();
    let invisible = if rng.one_in(4) { 1 + rng.below(3) } else { 0 };
    let indent = *rng.pick(&["", "  ", "    ", "\t"]);
    // A value alone on its line only for a kind known without its name.
    let formats = if needs_name { 4 } else { 5 };
    let blob = whole.then(|| (rng.below(formats), rng.pick(names).to_string()));
    let name = if whole {
        rng.pick(&BLOB_NAMES).to_string()
    } else {
        rng.pick(names).to_string()
    };
    let assigned = |template: &Template| template.assigns || !needs_name || whole;
    let (lang, form) = if paired {
        let format = match rng.below(5) {
            0 => PairFormat::EcsOneLine {
                value_first: rng.one_in(2),
            },
            1 => PairFormat::EcsPretty {
                value_first: rng.one_in(2),
                between: rng.below(3),
            },
            2 => PairFormat::CfnOneLine,
            3 => PairFormat::CfnPretty {
                between: rng.below(3),
            },
            _ => PairFormat::K8s {
                value_first: rng.one_in(3),
            },
        };
        let (lang, quote) = match format {
            PairFormat::K8s { .. } => (Lang::Yaml, *rng.pick(BARE_OR_QUOTED)),
            _ => (Lang::Json, Some('"')),
        };
        (lang, Form::Pair { format, quote })
    } else {
        loop {
            let lang = *rng.pick(&LANGS);
            let templates: Vec<usize> = (0..lang.templates().len())
                .filter(|&i| assigned(&lang.templates()[i]))
                .collect();
            if templates.is_empty() {
                continue;
            }
            let template = *rng.pick(&templates);
            if lang == Lang::Eml {
                let form = Form::QuotedPrintable {
                    template,
                    percent: *rng.pick(&[0, 10, 40]),
                    breaks: rng.below(4),
                };
                break (lang, form);
            }
            if !lang.glue().is_empty() && rng.one_in(2) {
                let spec = rng.pick(lang.glue());
                let glue = Glue {
                    op: spec.op,
                    quote: *rng.pick(spec.quotes),
                    pieces: 2 + rng.below(3),
                    breaks: spec.breaks,
                    prefixes: spec.prefixes,
                    tight: spec.tight,
                };
                break (lang, Form::Glued { template, glue });
            }
            let quote = *rng.pick(lang.templates()[template].quotes);
            break (lang, Form::Line { template, quote });
        }
    };
    // Quoted-printable and escapes are not undone in that order (escapes first): a mail gets no
    // escapes.
    let escape =
        (lang != Lang::Eml && rng.one_in(2)).then(|| (*rng.pick(&ESCAPES), *rng.pick(&[100, 50, 20])));
    let escape_name = escape.is_some() && !paired && rng.one_in(3);
    Plan {
        lang,
        form,
        name,
        blob,
        layers,
        invisible,
        escape,
        escape_name,
        indent: if lang == Lang::Eml { "" } else { indent },
        seed: rng.next(),
    }
}

/// The characters of `text`, invisible ones inserted, each written escaped or as it is (a line
/// break as `newline`). One draw per character whatever it is, so that two texts of one length
/// are cut and escaped at the same places.
fn units(plan: &Plan, text: &str, newline: &str, rng: &mut Rng) -> Vec<String> {
    let mut chars: Vec<char> = text.chars().collect();
    for _ in 0..plan.invisible {
        let at = rng.below(chars.len() + 1);
        chars.insert(at, *rng.pick(&INVISIBLE));
    }
    chars
        .iter()
        .map(|&c| {
            let draw = rng.below(100) as u8;
            let variant = rng.next();
            match plan.escape {
                Some((style, percent)) if draw < percent => escape(c, style, variant),
                _ if c == '\n' => newline.to_string(),
                _ => c.to_string(),
            }
        })
        .collect()
}

/// `units` cut into `pieces` non-empty pieces at random places.
fn split(units: &[String], pieces: usize, rng: &mut Rng) -> Vec<String> {
    let pieces = pieces.min(units.len());
    let mut cuts = BTreeSet::new();
    while cuts.len() + 1 < pieces {
        cuts.insert(1 + rng.below(units.len() - 1));
    }
    let mut out = vec![String::new()];
    for (index, unit) in units.iter().enumerate() {
        if cuts.contains(&index) {
            out.push(String::new());
        }
        out.last_mut().unwrap().push_str(unit);
    }
    out
}

/// Literals glued by the language, the lines they take.
fn glued(glue: &Glue, pieces: &[String], indent: &str, rng: &mut Rng) -> Vec<String> {
    let q = glue.quote;
    let mut lines = vec![String::new()];
    let continued = format!("{indent}{}", if glue.tight { "" } else { "    " });
    for (index, piece) in pieces.iter().enumerate() {
        let spaces = rng.below(2);
        let prefix = match glue.prefixes {
            [] => "",
            prefixes => {
                let prefix = *rng.pick(prefixes);
                if index > 0 && rng.one_in(3) {
                    prefix
                } else {
                    ""
                }
            }
        };
        let how = glue.breaks[rng.below(glue.breaks.len())];
        if index > 0 {
            let adjacent = glue.op == " ";
            let line = lines.last_mut().unwrap();
            match how {
                Break::Inline if adjacent => line.push_str(&" ".repeat(1 + spaces)),
                Break::Inline => line.push_str(&format!("{0}{1}{0}", " ".repeat(spaces), glue.op)),
                Break::TrailingOp => {
                    line.push_str(&format!("{}{}", " ".repeat(spaces), glue.op));
                    lines.push(continued.clone());
                }
                Break::LeadingOp => lines.push(format!("{continued}{} ", glue.op)),
                Break::Backslash => {
                    line.push_str(if glue.tight { "\\" } else { " \\" });
                    lines.push(continued.clone());
                }
            }
        }
        lines
            .last_mut()
            .unwrap()
            .push_str(&format!("{prefix}{q}{piece}{q}"));
    }
    lines
}

/// A quoted-printable line: `=`, line breaks and bytes past ASCII as `=XX`, `percent` in a
/// hundred of the others too, and `breaks` soft line breaks.
fn quoted_printable(line: &str, percent: u8, breaks: usize, rng: &mut Rng) -> Vec<String> {
    let units: Vec<String> = line
        .bytes()
        .map(|b| {
            let draw = rng.below(100) as u8;
            if b == b'=' || b == b'\n' || b >= 0x80 || draw < percent {
                format!("={b:02X}")
            } else {
                (b as char).to_string()
            }
        })
        .collect();
    let mut cuts = BTreeSet::new();
    while cuts.len() < breaks.min(units.len() - 1) {
        cuts.insert(1 + rng.below(units.len() - 1));
    }
    let mut lines = vec![String::new()];
    for (index, unit) in units.iter().enumerate() {
        if cuts.contains(&index) {
            lines.last_mut().unwrap().push('=');
            lines.push(String::new());
        }
        lines.last_mut().unwrap().push_str(unit);
    }
    lines
}

fn pair(format: PairFormat, name: &str, value: &str, indent: &str) -> (Vec<String>, usize) {
    const BETWEEN: [&str; 3] = [
        "\"essential\": true,",
        "\"type\": \"String\",",
        "\"description\": \"rotated monthly\",",
    ];
    let pretty = |name_field: &str, value_field: &str, value_first: bool, between: usize| {
        let name_line = format!("{indent}  \"{name_field}\": \"{name}\"");
        let value_line = format!("{indent}  \"{value_field}\": {value}");
        let middle = (0..between).map(|i| format!("{indent}  {}", BETWEEN[i]));
        let mut lines = vec![format!("{indent}{{")];
        let (first, last) = if value_first {
            (value_line, name_line)
        } else {
            (name_line, value_line)
        };
        lines.push(format!("{first},"));
        lines.extend(middle);
        lines.push(last);
        lines.push(format!("{indent}}},"));
        let report = if value_first { 1 } else { lines.len() - 2 };
        (lines, report)
    };
    match format {
        PairFormat::EcsOneLine { value_first: false } => (
            vec![format!("{indent}{{\"name\": \"{name}\", \"value\": {value}}},")],
            0,
        ),
        PairFormat::EcsOneLine { value_first: true } => (
            vec![format!("{indent}{{\"value\": {value}, \"name\": \"{name}\"}},")],
            0,
        ),
        PairFormat::EcsPretty { value_first, between } => pretty("name", "value", value_first, between),
        PairFormat::CfnOneLine => (
            vec![format!(
                "{indent}{{\"ParameterKey\": \"{name}\", \"ParameterValue\": {value}}},"
            )],
            0,
        ),
        PairFormat::CfnPretty { between } => pretty("ParameterKey", "ParameterValue", false, between),
        PairFormat::K8s { value_first: false } => (
            vec![
                format!("{indent}- name: {name}"),
                format!("{indent}  value: {value}"),
            ],
            1,
        ),
        PairFormat::K8s { value_first: true } => (
            vec![
                format!("{indent}- value: {value}"),
                format!("{indent}  name: {name}"),
            ],
            0,
        ),
    }
}

/// The lines `plan` writes `value` on, and which of them a finding is reported at.
fn write(plan: &Plan, value: &str) -> (Vec<String>, usize) {
    let mut rng = Rng(plan.seed);
    let text = match &plan.blob {
        Some((format, inner)) => blob(*format, inner, value),
        None => value.to_string(),
    };
    let text = plan.layers.iter().fold(text, |text, layer| layer.apply(&text));
    let qp = matches!(plan.form, Form::QuotedPrintable { .. });
    let units = units(plan, &text, if qp { "\n" } else { "\\n" }, &mut rng);
    let name = if plan.escape_name {
        units_of_name(plan, &mut rng)
    } else {
        plan.name.clone()
    };
    let template = |index: usize| {
        let template = &plan.lang.templates()[index];
        (
            template.prefix.replace("{N}", &name),
            template.suffix.replace("{N}", &name),
        )
    };
    let indent = plan.indent;
    match &plan.form {
        Form::Line {
            template: index,
            quote,
        } => {
            let (prefix, suffix) = template(*index);
            let q = quote.map(String::from).unwrap_or_default();
            (
                vec![format!("{indent}{prefix}{q}{}{q}{suffix}", units.concat())],
                0,
            )
        }
        Form::Glued {
            template: index,
            glue,
        } => {
            let (prefix, suffix) = template(*index);
            let pieces = split(&units, glue.pieces, &mut rng);
            let mut lines = glued(glue, &pieces, indent, &mut rng);
            lines[0] = format!("{indent}{prefix}{}", lines[0]);
            lines.last_mut().unwrap().push_str(&suffix);
            (lines, 0)
        }
        Form::QuotedPrintable {
            template: index,
            percent,
            breaks,
        } => {
            let (prefix, suffix) = template(*index);
            let line = format!("{prefix}{}{suffix}", units.concat());
            (quoted_printable(&line, *percent, *breaks, &mut rng), 0)
        }
        Form::Pair { format, quote } => {
            let q = quote.map(String::from).unwrap_or_default();
            pair(*format, &plan.name, &format!("{q}{}{q}", units.concat()), indent)
        }
    }
}

/// The name escaped like the value (escapes decode the whole line).
fn units_of_name(plan: &Plan, rng: &mut Rng) -> String {
    let plain = Plan {
        invisible: 0,
        ..plan.clone()
    };
    units(&plain, &plan.name, "\\n", rng).concat()
}

/// A short description of a plan, for the counts a run prints.
fn features(plan: &Plan) -> Vec<String> {
    let mut out = vec![format!("lang {:?}", plan.lang)];
    out.push(match &plan.form {
        Form::Line { quote, .. } => format!("line, quote {quote:?}"),
        Form::Glued { glue, .. } => format!("glued by {:?} in {:?}", glue.op, glue.quote),
        Form::QuotedPrintable { breaks, .. } => format!("quoted-printable, {breaks} soft breaks"),
        Form::Pair { format, .. } => {
            format!("pair {}", format!("{format:?}").split([' ', '{']).next().unwrap())
        }
    });
    out.push(format!("{} run layers", plan.layers.len()));
    for layer in &plan.layers {
        out.push(match layer {
            Layer::Base64 { url_safe: true, .. } => "base64 url-safe".to_string(),
            Layer::Base64 { .. } => "base64".to_string(),
            Layer::Hex { .. } => "hex".to_string(),
        });
    }
    if plan.blob.is_some() {
        out.push("a config blob encoded".to_string());
    }
    if plan.invisible > 0 {
        out.push("invisible characters".to_string());
    }
    if let Some((style, _)) = plan.escape {
        out.push(format!("escaped {style:?}"));
    }
    out
}

// ---------------------------------------------------------------------------------------------
// Files and changes.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Item {
    Filler(u64),
    /// The lines that hide the secret.
    Construct,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Change {
    /// The change adds the file.
    NewFile,
    /// The change inserts the secret's lines among the file's lines.
    Inserted,
    /// The base held the secret damaged (a placeholder in it); the change rewrites the lines
    /// that held the damage, not necessarily all of the secret's lines.
    Completed,
    /// The base held the secret; the change touches only the file's other lines.
    Untouched,
}

/// One version of a file.
#[derive(Debug, Clone)]
struct Version {
    items: Vec<Item>,
    construct: Vec<String>,
    final_newline: bool,
}

impl Version {
    fn text(&self, lang: Lang, crlf: bool) -> String {
        let eol = if crlf { "\r\n" } else { "\n" };
        let mut lines = lang.top();
        for item in &self.items {
            match item {
                Item::Filler(n) => lines.push(lang.filler(*n)),
                Item::Construct => lines.extend(self.construct.iter().cloned()),
            }
        }
        let mut text = lines.join(eol);
        if self.final_newline {
            text.push_str(eol);
        }
        text
    }

    /// The 1-based line of the construct's line `report`, if the version has the construct.
    fn line_of(&self, lang: Lang, report: usize) -> Option<usize> {
        let before = self.items.iter().position(|item| *item == Item::Construct)?;
        Some(lang.top().len() + before + report + 1)
    }
}

#[derive(Debug)]
struct Case {
    seed: u64,
    rule: &'static str,
    plan: Plan,
    change: Change,
    path: String,
    crlf: bool,
    base: Option<Version>,
    head: Version,
    /// Where the head has the secret, and where the base had it (a change that leaves it alone).
    head_line: usize,
    base_line: Option<usize>,
}

impl Case {
    fn new(seed: u64) -> Case {
        let mut rng = Rng(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ 0x0dec_0ded);
        let kind = *rng.pick(&KINDS);
        let (secret, broken) = secret(kind, &mut rng, seed);
        let plan = plan(&mut rng, Some(kind));
        let (construct, report) = write(&plan, &secret);
        let (damaged, _) = write(&plan, &broken);
        let mut next = seed * 1000;
        let mut fresh = || {
            next += 1;
            Item::Filler(next)
        };
        let mut items: Vec<Item> = (0..rng.below(6)).map(|_| fresh()).collect();
        items.push(Item::Construct);
        items.extend((0..rng.below(6)).map(|_| fresh()));
        let mut change = match rng.below(8) {
            0 | 1 => Change::NewFile,
            2 | 3 => Change::Inserted,
            4 | 5 => Change::Completed,
            _ => Change::Untouched,
        };
        if change == Change::Completed && damaged == construct {
            change = Change::Inserted;
        }
        let lang = plan.lang;
        let crlf = rng.one_in(3);
        let head = Version {
            items: items.clone(),
            construct: construct.clone(),
            final_newline: !rng.one_in(4),
        };
        let mut base = match change {
            Change::NewFile => None,
            Change::Inserted => Some(Version {
                items: items.iter().copied().filter(|i| *i != Item::Construct).collect(),
                ..head.clone()
            }),
            Change::Completed => Some(Version {
                construct: damaged,
                ..head.clone()
            }),
            Change::Untouched => Some(head.clone()),
        };
        let mut head = head;
        // Other lines change too: always when the secret's lines stay as they were.
        if change == Change::Untouched || (change != Change::NewFile && rng.one_in(3)) {
            for _ in 0..1 + rng.below(2) {
                let fillers: Vec<usize> = (0..head.items.len())
                    .filter(|&i| head.items[i] != Item::Construct)
                    .collect();
                match rng.below(3) {
                    0 if !fillers.is_empty() => {
                        let at = *rng.pick(&fillers);
                        head.items[at] = fresh();
                    }
                    1 if !fillers.is_empty() => {
                        head.items.remove(*rng.pick(&fillers));
                    }
                    _ => {
                        let at = rng.below(head.items.len() + 1);
                        head.items.insert(at, fresh());
                    }
                }
            }
            if rng.one_in(6) {
                head.final_newline = !head.final_newline;
            }
            if base
                .as_ref()
                .is_some_and(|b| b.text(lang, crlf) == head.text(lang, crlf))
            {
                head.items.insert(0, fresh());
            }
        }
        if let Some(base) = &mut base {
            if change == Change::Inserted && base.items.is_empty() {
                base.items.push(Item::Filler(seed * 1000 + 999));
            }
        }
        let dir = *rng.pick(&["", "config/", "src/", "deploy/"]);
        let stem = match plan.form {
            Form::Pair {
                format: PairFormat::K8s { .. },
                ..
            } => "deployment",
            Form::Pair { .. } => "task-definition",
            _ => *rng.pick(&["settings", "app", "main", "notes", "values"]),
        };
        let path = format!("c{seed}/{dir}{stem}.{}", lang.ext());
        let head_line = head.line_of(lang, report).expect("the head has the secret");
        let base_line = match change {
            Change::Untouched => base.as_ref().and_then(|b| b.line_of(lang, report)),
            _ => None,
        };
        Case {
            seed,
            rule: kind.rule(),
            plan,
            change,
            path,
            crlf,
            base,
            head,
            head_line,
            base_line,
        }
    }

    fn text(&self, version: &Version) -> String {
        version.text(self.plan.lang, self.crlf)
    }

    fn changed(&self) -> bool {
        self.change != Change::Untouched
    }

    /// Everything needed to read a failure.
    fn describe(&self) -> String {
        format!(
            "seed {} (replay with {SEEDS}_SEED={}): {} {:?} in {}, head line {}, base line {:?}\nplan: {:#?}\nbase: {:?}\nhead: {:?}",
            self.seed,
            self.seed,
            self.rule,
            self.change,
            self.path,
            self.head_line,
            self.base_line,
            self.plan,
            self.base.as_ref().map(|b| self.text(b)),
            self.text(&self.head),
        )
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
    let found = scan_output(&run);
    (run, found)
}

fn scan_output(run: &Run) -> Vec<Found> {
    run.stdout
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
        .collect()
}

/// Compares one mode's findings with what each case expects: `expected(case)` is the line its
/// rule must be reported at (None: nowhere). A case the mode must not report at all (`quiet`)
/// may have no finding of any rule in its file. Panics naming every case that differs.
fn compare(
    cases: &[Case],
    mode: &str,
    (run, found): &(Run, Vec<Found>),
    expected: impl Fn(&Case) -> Option<usize>,
    quiet: impl Fn(&Case) -> bool,
) -> usize {
    let mut report = String::new();
    let mut count = 0;
    for case in cases {
        let want: BTreeSet<usize> = expected(case).into_iter().collect();
        count += want.len();
        let got: BTreeSet<usize> = found
            .iter()
            .filter(|f| f.path == case.path && f.rule == case.rule)
            .map(|f| f.line)
            .collect();
        let others: Vec<&Found> = found
            .iter()
            .filter(|f| f.path == case.path && quiet(case))
            .collect();
        if got != want || !others.is_empty() {
            report.push_str(&format!(
                "{mode}: expected {} at {want:?}, got {got:?}; findings in a file the mode must leave alone: {others:?}\n{}\n\n",
                case.rule,
                case.describe()
            ));
        }
    }
    let exit = i32::from(cases.iter().any(|c| expected(c).is_some()));
    if report.is_empty() && run.code != exit {
        report.push_str(&format!("{mode}: exit code {} (expected {exit})\n", run.code));
    }
    assert!(report.is_empty(), "{report}\n{}", run.all_output());
    count
}

/// Runs a batch of cases in one repository, each in its own folder: a base commit holds every
/// case's base, the head version of every case is staged and then committed. Cases cannot see
/// each other (different folders, lines and secrets), so each mode's findings per file must be
/// exactly what the case alone expects, and each mode runs once for the batch.
fn check_batch(seeds: &[u64], counts: &mut BTreeMap<String, usize>) {
    let cases: Vec<Case> = seeds.iter().map(|&seed| Case::new(seed)).collect();
    let show = std::env::var_os(format!("{SEEDS}_SHOW")).is_some();
    for case in &cases {
        if show {
            let _ = writeln!(std::io::stderr(), "{}\n", case.describe());
        }
        *counts.entry(format!("change {:?}", case.change)).or_default() += 1;
        *counts.entry(format!("rule {}", case.rule)).or_default() += 1;
        for feature in features(&case.plan) {
            *counts.entry(feature).or_default() += 1;
        }
        if case.crlf {
            *counts.entry("crlf".to_string()).or_default() += 1;
        }
    }
    let repo = Repo::new();
    repo.write("README.md", b"a project\n");
    for case in &cases {
        if let Some(base) = &case.base {
            repo.write(&case.path, case.text(base).as_bytes());
        }
    }
    let base = repo.commit("base");
    for case in &cases {
        repo.write(&case.path, case.text(&case.head).as_bytes());
    }
    let dir = repo.path();
    let mut secrets = [0; 5];
    let everywhere = |case: &Case| Some(case.head_line);
    let changed = |case: &Case| case.changed().then_some(case.head_line);
    let untouched = |case: &Case| !case.changed();
    secrets[0] = compare(&cases, "tree", &scan(dir, &[]), everywhere, |_| false);
    repo.git(&["add", "-A"]);
    secrets[1] = compare(&cases, "--staged", &scan(dir, &["--staged"]), changed, untouched);
    repo.commit("the change");
    secrets[2] = compare(
        &cases,
        "--diff BASE",
        &scan(dir, &["--diff", &base]),
        changed,
        untouched,
    );
    let range = format!("{base}..HEAD");
    secrets[3] = compare(
        &cases,
        "--diff BASE..HEAD",
        &scan(dir, &["--diff", &range]),
        changed,
        untouched,
    );
    // History: the base's commit wrote what the change left alone, at the base's line.
    let committed = |case: &Case| case.base_line.or(case.changed().then_some(case.head_line));
    secrets[4] = compare(&cases, "--history", &scan(dir, &["--history"]), committed, |_| {
        false
    });
    for (mode, n) in ["tree", "--staged", "--diff", "--diff A..B", "--history"]
        .iter()
        .zip(secrets)
    {
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
fn secrets_behind_random_chains_of_encodings_are_reported_at_their_line_in_every_mode() {
    let seeds = seeds(SEEDS, DEFAULT_CASES);
    let mut counts = BTreeMap::new();
    for batch in seeds.chunks(BATCH) {
        check_batch(batch, &mut counts);
    }
    print_counts(&format!("{} cases", seeds.len()), &counts);
    let replay = seeds.len() == 1;
    assert!(
        replay
            || ["tree", "--staged", "--history"]
                .iter()
                .all(|m| counts[&format!("reported in {m}")] > 0),
        "every mode had secrets to report: {counts:?}"
    );
}

// A decoded line break was written `\n` right before the next line's text: a token starting a
// decoded line (`\nghp_…`) lost the word boundary its rule wants, and so did a name
// (`\nsecret_key=…`). Found by the property above (a config blob whose value starts a line).
#[test]
fn a_secret_that_starts_a_decoded_line_is_found_in_every_mode() {
    let token = github_token(7);
    let aws = chars(&mut Rng(5), BASE64_ALPHABET, 40);
    let b64 = |text: String| base64::engine::general_purpose::STANDARD.encode(text);
    let files = [
        (
            "k8s/ci-tokens.yaml",
            format!(
                "apiVersion: v1\nkind: Secret\ndata:\n  tokens: {}\n",
                b64(format!("# ci tokens\n{token}\n"))
            ),
            4,
            "github-token",
        ),
        (
            "ci/env.yaml",
            format!(
                "env_file: {}\n",
                b64(format!("region=eu-west-1\nsecret_key={aws}\n"))
            ),
            1,
            "aws-secret-access-key",
        ),
        (
            "web/motd.json",
            format!("{{\"motd\": \"hello\\u000a{token}\"}}\n"),
            1,
            "github-token",
        ),
    ];
    let contents: Vec<(&str, Vec<u8>)> = files
        .iter()
        .map(|(path, text, _, _)| (*path, text.clone().into_bytes()))
        .collect();
    for (mode, run) in crate::support::every_mode::in_every_mode(&contents) {
        let found: Vec<(String, usize, String)> = scan_output(&run)
            .into_iter()
            .map(|f| (f.path, f.line, f.rule))
            .collect();
        for (path, _, line, rule) in &files {
            let want = (path.to_string(), *line, rule.to_string());
            assert!(found.contains(&want), "{mode}: no {want:?}\n{}", run.all_output());
        }
        assert_eq!(run.code, 1, "{mode}: {}", run.all_output());
        assert!(!run.all_output().contains(&token) && !run.all_output().contains(&aws));
    }
}

// ---------------------------------------------------------------------------------------------
// Benign text through the same chains.

const WORDS: [&str; 30] = [
    "hello", "world", "deploy", "the", "build", "is", "green", "release", "notes", "for", "march", "cache",
    "warm", "retry", "later", "thanks", "team", "docs", "update", "small", "fix", "north", "river", "coffee",
    "blue", "window", "garden", "quiet", "morning", "ticket",
];

/// Prose, or random bytes already written as hex or base64 (which decode to no text).
fn benign_value(rng: &mut Rng) -> String {
    if rng.one_in(3) {
        let bytes: Vec<u8> = (0..16 + rng.below(33)).map(|_| rng.next() as u8).collect();
        if rng.one_in(2) {
            bytes.iter().map(|b| format!("{b:02x}")).collect()
        } else {
            base64::engine::general_purpose::STANDARD.encode(bytes)
        }
    } else {
        let words: Vec<&str> = (0..3 + rng.below(8)).map(|_| *rng.pick(&WORDS)).collect();
        words.join(" ")
    }
}

#[test]
fn benign_text_through_the_same_encodings_fails_no_gate() {
    let seeds = seeds(SEEDS, DEFAULT_CASES);
    let dir = tempfile::tempdir().unwrap();
    let mut counts = BTreeMap::new();
    let mut cases = BTreeMap::new();
    for &seed in &seeds {
        let mut rng = Rng(seed.wrapping_mul(0x2545_f491_4f6c_dd1d) ^ 0xbe9);
        let value = benign_value(&mut rng);
        let plan = plan(&mut rng, None);
        for feature in features(&plan) {
            *counts.entry(feature).or_default() += 1;
        }
        let (construct, _) = write(&plan, &value);
        let version = Version {
            items: vec![
                Item::Filler(seed * 10),
                Item::Construct,
                Item::Filler(seed * 10 + 1),
            ],
            construct,
            final_newline: true,
        };
        let path = format!("c{seed}/benign.{}", plan.lang.ext());
        let text = version.text(plan.lang, rng.one_in(3));
        std::fs::create_dir_all(dir.path().join(format!("c{seed}"))).unwrap();
        std::fs::write(dir.path().join(&path), &text).unwrap();
        cases.insert(path, (seed, value, plan, text));
    }
    let (run, found) = scan(dir.path(), &[]);
    let errors: Vec<String> = found
        .iter()
        .filter(|f| f.error)
        .map(|f| {
            let (seed, value, plan, text) = &cases[&f.path];
            format!(
                "seed {seed} (replay with {SEEDS}_SEED={seed}): {} at {}:{}\nvalue: {value:?}\nplan: {plan:#?}\ntext: {text:?}\n",
                f.rule, f.path, f.line
            )
        })
        .collect();
    assert!(errors.is_empty(), "{}\n{}", errors.join("\n"), run.all_output());
    assert_eq!(run.code, 0, "{}", run.all_output());
    print_counts(&format!("{} benign cases", seeds.len()), &counts);
}
