//! Runs the shell commands of `docs/tutorial.md` and checks that each does
//! what the text says. Shared by `tests/tutorial.rs` (the default suite,
//! one test per section) and `tests/interop.rs` (`mod tutorial_interop`:
//! the sections with commands that need `nc`, `curl` or `memcached`).
//!
//! # How the tutorial marks its commands
//!
//! The tutorial is written for a reader at a terminal, so it shows the
//! seeds' friendly ports (8000, 11211...) and `cargo run --bin NAME -- ARGS`.
//! The harness reads it like this:
//!
//! - Every ```` ```sh ```` block holds commands, one per line (`#` starts a
//!   comment). A `text` block right after it is what those commands print
//!   on stdout, all of them in order; with no such block they must print
//!   nothing. Each must exit 0.
//! - A command that starts a Torsion server (see [`SERVERS`]) runs in the
//!   background for the rest of the section (a `##` heading), on a port
//!   the OS chooses: its port flags become 0, and wherever the section
//!   then says `127.0.0.1:8000` (or `localhost:8000`, `127.0.0.1 8000`,
//!   `127.0.0.1/8000`), the harness puts the real port, in commands and in
//!   expected output alike. The `text` block after it is its announcement.
//! - A server started with `-d` runs in the background, as a daemon: its
//!   command returns once the server listens, and the harness waits for
//!   that as well as for the announcement. It needs `-P FILE`: the section
//!   stops it through the file (``kill `cat FILE` ``), and if it did not,
//!   the harness does at the section's end, whatever happened.
//! - `cargo run --bin NAME --` becomes the built program (a test never
//!   builds: the binaries are built before the tests run).
//!   Other commands run with `bash -c` in a scratch folder where `docs/`
//!   is the workspace's own.
//! - An HTML comment `<!-- test: ... -->` (the renderer hides it) on the
//!   line before a block, or alone, says more; items are separated by commas:
//!
//!   | item | on | meaning |
//!   | --- | --- | --- |
//!   | `interop` | `sh` | needs nc, curl, memcached or python3 (with Twisted): only the interop suite runs it |
//!   | `background as NAME` | `sh` | the command runs in the background, as NAME, until the section ends |
//!   | `as NAME` | `sh` starting a server | the server's name for later checks (default: its binary) |
//!   | `exit N` | `sh` | the last command exits with N |
//!   | `stderr` | `text` after `sh` | compare stderr instead of stdout |
//!   | `output of NAME` | `text` | what NAME printed on stdout since the last check (waited for) |
//!   | `log of NAME` | `text` | the same for its stderr (its log) |
//!   | `unordered` | `text` | the same lines in any order |
//!   | `contains` | `text` | these lines appear, in this order, among others |
//!   | `any numbers` | `text` | every number in the text matches any number, and every month name any month (times, dates, ids) |
//!   | `last number between A and B` | `text` | and the last number printed (a timing's total) lies in that range |
//!   | `stop NAME` | alone | Ctrl-C: SIGINT to NAME, which must exit 0 |
//!   | `doc tests` | `sh` | `cargo test -p PKG --doc ITEM`: not run (`cargo test --workspace` runs it); checked: ITEM's doc is this page, and the text's count of passed tests is its Rust blocks' |
//!
//!   In any expected line, `...` matches any text; a line that is only
//!   `...` matches any number of lines. Runs of spaces count as one.

use std::collections::{HashMap, HashSet};
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::{Duration, Instant};

/// How long a check waits for a background process to print what is expected.
const OUTPUT_WAIT: Duration = Duration::from_secs(30);
/// How long one command may run.
const COMMAND_WAIT: Duration = Duration::from_secs(90);

/// One port a server listens on: the name it announces it with
/// (`NAME listening on ADDR`), the flag that sets it, and the port it
/// defaults to (`None`: it only listens when the flag is given).
pub struct Port {
    /// The name in the announcement.
    pub announce: &'static str,
    /// The flag that sets it (`-p` also stands for `--port`).
    pub flag: &'static str,
    /// Its default.
    pub default: Option<u16>,
}

const fn port(announce: &'static str, flag: &'static str, default: u16) -> Port {
    Port {
        announce,
        flag,
        default: Some(default),
    }
}

/// The servers the tutorial starts, and their ports in the order they
/// announce them.
pub const SERVERS: &[(&str, &[Port])] = &[
    ("torsion-hello", &[port("torsion-hello", "-p", 8000)]),
    ("torsion-upper", &[port("torsion-upper", "-p", 8000)]),
    ("torsion-memcached", &[port("torsion-memcached", "-p", 11211)]),
    (
        "torsion-kv",
        &[
            port("torsion-kv", "-p", torsion_servers::kv::DEFAULT_LINE_PORT),
            port(
                "torsion-kv amp",
                "--amp-port",
                torsion_servers::kv::DEFAULT_AMP_PORT,
            ),
            port("torsion-kv pb", "--pb-port", torsion_servers::kv::DEFAULT_PB_PORT),
        ],
    ),
    (
        "torsion-kvweb",
        &[port("torsion-kvweb", "-p", torsion_servers::kvweb::DEFAULT_PORT)],
    ),
    ("torsion-web-demo", &[port("torsion-web-demo", "-p", 8000)]),
    (
        "torsion-weblog",
        &[port(
            "torsion-weblog",
            "-p",
            torsion_servers::weblog::DEFAULT_PORT,
        )],
    ),
    (
        "torsion-fib",
        &[port("torsion-fib", "-p", torsion_servers::fib::DEFAULT_PORT)],
    ),
    (
        "torsion-proxy",
        &[
            port("torsion-proxy", "-p", 8000),
            Port {
                announce: "torsion-proxy http",
                flag: "--http-port",
                default: None,
            },
        ],
    ),
    // The proxy's local origin: `cargo run -p torsion-tests --bin torsion-origin -- PORT`.
    ("torsion-origin", &[port("origin", "", 0)]),
];

/// Which suite is running.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Suite {
    /// `cargo test --workspace`: every command but those marked `interop`.
    Default,
    /// The interop suite: every command of the sections that have an
    /// `interop` one.
    #[allow(dead_code)] // tests/interop.rs runs it, tests/tutorial.rs does not
    Interop,
}

/// The tutorial, as the harness reads it.
pub fn tutorial_path() -> PathBuf {
    workspace().join("docs/tutorial.md")
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace")
        .to_path_buf()
}

// ----- parsing ---------------------------------------------------------------

/// One `##` section of the tutorial.
#[derive(Debug)]
pub struct Section {
    /// The heading, lowercased, every run of other characters than
    /// letters and digits made one `_` ("## 3. The memcached store" is
    /// `3_the_memcached_store`).
    pub slug: String,
    /// What runs, in order.
    pub steps: Vec<Step>,
}

impl Section {
    /// Whether the section runs any command.
    #[allow(dead_code)] // tests/tutorial.rs uses it, tests/interop.rs does not
    pub fn has_commands(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::Commands(_) | Step::DocTests { .. }))
    }

    /// Whether any of its commands needs the interop suite.
    pub fn has_interop(&self) -> bool {
        self.steps
            .iter()
            .any(|s| matches!(s, Step::Commands(c) if c.interop))
    }
}

/// One thing the harness does.
#[derive(Debug)]
pub enum Step {
    /// An `sh` block.
    Commands(Commands),
    /// A `text` block checking a background process's output.
    Check {
        /// Where it is in the tutorial (1-based).
        line: usize,
        /// Only the interop suite checks it (it shows what an interop command did).
        interop: bool,
        /// Whose output.
        name: String,
        /// stdout (`output of`) or stderr (`log of`).
        stream: Stream,
        /// What it must show.
        expect: Expect,
    },
    /// A `doc tests` block: `cargo test -p PACKAGE --doc ITEM`, which `cargo
    /// test --workspace` runs itself. The harness does not build or run
    /// anything for it (a test never builds); it checks that ITEM's doc in
    /// PACKAGE is this page, and that the count the text shows is the
    /// number of Rust blocks rustdoc finds here.
    DocTests {
        /// Where the block starts in the tutorial (1-based).
        line: usize,
        /// The package (`-p`).
        package: String,
        /// The item whose doc is this page.
        item: String,
        /// What the text shows cargo printing.
        expect: Option<Expect>,
    },
    /// `stop NAME`: SIGINT, then it must exit 0.
    Stop {
        /// Where it is in the tutorial (1-based).
        line: usize,
        /// Whom.
        name: String,
    },
}

/// An `sh` block and what it must print.
#[derive(Debug)]
pub struct Commands {
    /// Where the block starts in the tutorial (1-based).
    pub line: usize,
    /// The commands, comments and blank lines removed.
    pub commands: Vec<String>,
    /// Only the interop suite runs it.
    pub interop: bool,
    /// Run in the background under this name.
    pub background: Option<String>,
    /// A server's name, if not its binary's.
    pub name: Option<String>,
    /// The last command's exit status.
    pub exit: i32,
    /// What the commands print, if a `text` block follows.
    pub output: Option<(Stream, Expect)>,
}

/// stdout or stderr.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Stream {
    /// Standard output.
    Stdout,
    /// Standard error (a server's log).
    Stderr,
}

/// How lines are compared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// The same lines, in order.
    Exact,
    /// The same lines, in any order.
    Unordered,
    /// These lines, in this order, among others.
    Contains,
}

/// Expected text and how to compare it.
#[derive(Clone, Debug)]
pub struct Expect {
    /// Where the `text` block starts (1-based).
    pub line: usize,
    /// The text, as written.
    pub text: String,
    /// How lines are compared.
    pub mode: Mode,
    /// Every number matches any number.
    pub any_numbers: bool,
    /// The last number in the output lies in this range (a timing's total).
    pub last_number: Option<(f64, f64)>,
}

impl Expect {
    /// Whether `actual` shows this, with `expected` the text with its ports substituted.
    fn matches(&self, expected: &str, actual: &str) -> bool {
        output_matches(expected, self.mode, self.any_numbers, actual)
            && self
                .last_number
                .is_none_or(|(low, high)| last_number(actual).is_some_and(|n| (low..=high).contains(&n)))
    }

    fn describe(&self) -> String {
        match self.last_number {
            Some((low, high)) => format!(" (the last number between {low} and {high})"),
            None => String::new(),
        }
    }
}

/// The last decimal number in `text` (`3.806` in `Total: 40 3.806`).
fn last_number(text: &str) -> Option<f64> {
    text.split(|c: char| !(c.is_ascii_digit() || c == '.'))
        .filter_map(|w| w.trim_matches('.').parse::<f64>().ok())
        .next_back()
}

#[derive(Default, Debug)]
struct Directive {
    interop: bool,
    background: bool,
    name: Option<String>,
    exit: Option<i32>,
    stderr: bool,
    of: Option<(Stream, String)>,
    mode: Option<Mode>,
    any_numbers: bool,
    last_number: Option<(f64, f64)>,
    stop: Option<String>,
    doc_tests: bool,
}

fn parse_directive(text: &str, line: usize) -> Directive {
    let mut d = Directive::default();
    for item in text.split(',').map(str::trim).filter(|i| !i.is_empty()) {
        let words: Vec<&str> = item.split_whitespace().collect();
        match words.as_slice() {
            ["interop"] => d.interop = true,
            ["background", "as", name] => {
                d.background = true;
                d.name = Some(name.to_string());
            }
            ["as", name] => d.name = Some(name.to_string()),
            ["exit", n] => d.exit = Some(n.parse().unwrap_or_else(|_| panic!("line {line}: bad exit {n}"))),
            ["stderr"] => d.stderr = true,
            ["output", "of", name] => d.of = Some((Stream::Stdout, name.to_string())),
            ["log", "of", name] => d.of = Some((Stream::Stderr, name.to_string())),
            ["unordered"] => d.mode = Some(Mode::Unordered),
            ["contains"] => d.mode = Some(Mode::Contains),
            ["any", "numbers"] => d.any_numbers = true,
            ["stop", name] => d.stop = Some(name.to_string()),
            ["doc", "tests"] => d.doc_tests = true,
            ["last", "number", "between", low, "and", high] => {
                let bound = |w: &str| {
                    w.parse::<f64>()
                        .unwrap_or_else(|_| panic!("line {line}: bad number {w}"))
                };
                d.last_number = Some((bound(low), bound(high)));
            }
            _ => panic!("tutorial.md line {line}: unknown test directive item {item:?}"),
        }
    }
    d
}

fn directive_of(line: &str) -> Option<&str> {
    line.trim()
        .strip_prefix("<!-- test:")
        .and_then(|rest| rest.strip_suffix("-->"))
}

fn slug(heading: &str) -> String {
    let mut out = String::new();
    for c in heading.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.is_empty() && !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_end_matches('_').to_string()
}

/// Reads the tutorial into sections. Panics, naming the line, on anything
/// the harness cannot run or that rustdoc would misread.
pub fn parse(markdown: &str) -> Vec<Section> {
    let lines: Vec<&str> = markdown.lines().collect();
    let mut sections = vec![Section {
        slug: "introduction".into(),
        steps: Vec::new(),
    }];
    let mut i = 0;
    // A directive waiting for the block on the next line.
    let mut pending: Option<(usize, Directive)> = None;
    // The last sh block may still get its output block.
    let mut awaiting_output = false;
    while i < lines.len() {
        let line = lines[i];
        let number = i + 1;
        if let Some(text) = directive_of(line) {
            let d = parse_directive(text, number);
            let next_is_fence = lines.get(i + 1).is_some_and(|l| l.starts_with("```"));
            if next_is_fence {
                pending = Some((number, d));
            } else if let Some(name) = d.stop {
                awaiting_output = false;
                let section = sections.last_mut().expect("a section");
                section.steps.push(Step::Stop { line: number, name });
            } else {
                panic!(
                    "tutorial.md line {number}: a test directive must be followed by a block, or be a stop"
                );
            }
            i += 1;
            continue;
        }
        if let Some(info) = line.strip_prefix("```") {
            let info = info.trim().to_string();
            let start = i;
            i += 1;
            let mut body = Vec::new();
            while i < lines.len() && lines[i] != "```" {
                assert!(
                    !lines[i].starts_with("```"),
                    "tutorial.md line {}: a fence inside a block",
                    i + 1
                );
                body.push(lines[i].to_string());
                i += 1;
            }
            assert!(
                i < lines.len(),
                "tutorial.md line {}: block never closed",
                start + 1
            );
            i += 1; // the closing fence
            let directive = pending.take().map(|(_, d)| d);
            let section = sections.last_mut().expect("a section");
            let line = start + 1;
            match info.as_str() {
                "" => panic!(
                    "tutorial.md line {line}: a block needs a language (rustdoc would compile it as Rust)"
                ),
                "bash" | "shell" | "console" | "shell-session" => {
                    panic!("tutorial.md line {line}: write shell commands in ```sh blocks, so they are run")
                }
                "sh" => {
                    let d = directive.unwrap_or_default();
                    assert!(
                        d.of.is_none()
                            && !d.stderr
                            && d.mode.is_none()
                            && !d.any_numbers
                            && d.last_number.is_none()
                            && d.stop.is_none(),
                        "tutorial.md line {line}: output items on an sh block"
                    );
                    let commands: Vec<String> = body
                        .iter()
                        .map(|l| l.trim())
                        .filter(|l| !l.is_empty() && !l.starts_with('#'))
                        .map(String::from)
                        .collect();
                    assert!(!commands.is_empty(), "tutorial.md line {line}: an empty sh block");
                    for c in &commands {
                        assert!(
                            !c.ends_with('\\'),
                            "tutorial.md line {line}: no continued lines, please"
                        );
                    }
                    if d.doc_tests {
                        let [command] = commands.as_slice() else {
                            panic!("tutorial.md line {line}: one command in a doc tests block")
                        };
                        let w: Vec<&str> = command.split_whitespace().collect();
                        let ["cargo", "test", "-p", package, "--doc", item] = w.as_slice() else {
                            panic!("tutorial.md line {line}: a doc tests block is `cargo test -p PACKAGE --doc ITEM`")
                        };
                        section.steps.push(Step::DocTests {
                            line,
                            package: package.to_string(),
                            item: item.to_string(),
                            expect: None,
                        });
                        awaiting_output = true;
                        continue;
                    }
                    for c in &commands {
                        let w: Vec<&str> = c.split_whitespace().collect();
                        let other_cargo = w.windows(2).any(|p| p[0] == "cargo" && p[1] != "run");
                        assert!(
                            !other_cargo,
                            "tutorial.md line {line}: a test never builds, so only `cargo run --bin` \
                             (the built binary) and `doc tests` blocks may use cargo"
                        );
                    }
                    if d.interop {
                        let needs = ["nc", "curl", "memcached", "python3"];
                        let uses_one = commands.iter().any(|c| {
                            c.split(|ch: char| !ch.is_ascii_alphanumeric())
                                .any(|w| needs.contains(&w))
                        });
                        assert!(
                            uses_one,
                            "tutorial.md line {line}: marked interop but uses none of {needs:?}"
                        );
                    }
                    assert!(
                        !d.background || commands.len() == 1,
                        "tutorial.md line {line}: one background command per block"
                    );
                    section.steps.push(Step::Commands(Commands {
                        line,
                        commands,
                        interop: d.interop,
                        background: if d.background { d.name.clone() } else { None },
                        name: if d.background { None } else { d.name },
                        exit: d.exit.unwrap_or(0),
                        output: None,
                    }));
                    awaiting_output = true;
                    continue;
                }
                "text" => {
                    let d = directive.unwrap_or_default();
                    let expect = Expect {
                        line,
                        text: body.join("\n"),
                        mode: d.mode.unwrap_or(Mode::Exact),
                        any_numbers: d.any_numbers,
                        last_number: d.last_number,
                    };
                    if let Some((stream, name)) = d.of {
                        section.steps.push(Step::Check {
                            line,
                            interop: d.interop,
                            name,
                            stream,
                            expect,
                        });
                    } else if let (true, Some(Step::DocTests { expect: e, .. })) =
                        (awaiting_output, section.steps.last_mut())
                    {
                        *e = Some(expect);
                    } else if awaiting_output {
                        let Some(Step::Commands(c)) = section.steps.last_mut() else {
                            unreachable!("awaiting output after an sh block")
                        };
                        assert!(
                            c.background.is_none(),
                            "tutorial.md line {line}: check a background command with `output of NAME`"
                        );
                        let stream = if d.stderr { Stream::Stderr } else { Stream::Stdout };
                        c.output = Some((stream, expect));
                    } else {
                        assert!(
                            !d.stderr && d.mode.is_none() && !d.any_numbers,
                            "tutorial.md line {line}: test items on a text block that checks nothing"
                        );
                    }
                }
                _ => assert!(
                    directive.is_none(),
                    "tutorial.md line {line}: test items on a {info} block"
                ),
            }
            awaiting_output = false;
            continue;
        }
        assert!(
            pending.is_none(),
            "tutorial.md line {number}: a directive not followed by its block"
        );
        if let Some(heading) = line.strip_prefix("## ") {
            sections.push(Section {
                slug: slug(heading),
                steps: Vec::new(),
            });
        }
        if !line.trim().is_empty() {
            awaiting_output = false;
        }
        i += 1;
    }
    let mut seen = HashSet::new();
    for s in &sections {
        assert!(seen.insert(s.slug.clone()), "two sections named {}", s.slug);
    }
    sections
}

/// The tutorial's sections.
pub fn sections() -> Vec<Section> {
    let markdown = std::fs::read_to_string(tutorial_path()).expect("read docs/tutorial.md");
    parse(&markdown)
}

// ----- comparing ---------------------------------------------------------------

#[derive(Clone, Copy, PartialEq, Eq)]
enum Tok {
    Lit(char),
    Any,
    Digits,
    /// A month's English abbreviation (`Nov` in a log's `21/Nov/2026`),
    /// which matches any month's: with `any numbers`, a date is any date.
    Month,
}

/// The month abbreviations dates are written with (the common log format,
/// HTTP dates), whatever the locale.
const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];

/// The month abbreviation that starts `chars` as a word of its own.
fn month_at(chars: &[char], i: usize) -> bool {
    let word_edge = |c: Option<&char>| c.is_none_or(|c| !c.is_ascii_alphabetic());
    chars.len() >= i + 3
        && MONTHS
            .iter()
            .any(|m| m.chars().eq(chars[i..i + 3].iter().copied()))
        && word_edge(i.checked_sub(1).and_then(|p| chars.get(p)))
        && word_edge(chars.get(i + 3))
}

fn compile(line: &str, any_numbers: bool) -> Vec<Tok> {
    let chars: Vec<char> = line.chars().collect();
    let mut toks = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i..].starts_with(&['.', '.', '.']) {
            toks.push(Tok::Any);
            i += 3;
        } else if any_numbers && chars[i].is_ascii_digit() {
            while i < chars.len() && chars[i].is_ascii_digit() {
                i += 1;
            }
            toks.push(Tok::Digits);
        } else if any_numbers && month_at(&chars, i) {
            toks.push(Tok::Month);
            i += 3;
        } else {
            toks.push(Tok::Lit(chars[i]));
            i += 1;
        }
    }
    toks
}

/// Whether `line` matches the pattern `toks` (a table over both, no backtracking blowup).
fn line_matches(toks: &[Tok], line: &str) -> bool {
    let s: Vec<char> = line.chars().collect();
    // can[j]: the tokens so far can consume exactly s[..j].
    let mut can = vec![false; s.len() + 1];
    can[0] = true;
    for tok in toks {
        let mut next = vec![false; s.len() + 1];
        for j in 0..=s.len() {
            if !can[j] {
                continue;
            }
            match tok {
                Tok::Lit(c) => {
                    if s.get(j) == Some(c) {
                        next[j + 1] = true;
                    }
                }
                Tok::Any => next[j..].iter_mut().for_each(|n| *n = true),
                Tok::Digits => {
                    let mut k = j;
                    while k < s.len() && s[k].is_ascii_digit() {
                        k += 1;
                        next[k] = true;
                    }
                }
                Tok::Month => {
                    if month_at(&s, j) {
                        next[j + 3] = true;
                    }
                }
            }
        }
        can = next;
    }
    can[s.len()]
}

/// The lines of `text`, each with its runs of spaces made one (a table's
/// columns widen with a longer port), blank lines at either end dropped.
fn normalize(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        .map(|l| l.split_whitespace().collect::<Vec<_>>().join(" "))
        .collect();
    while lines.last().is_some_and(|l| l.is_empty()) {
        lines.pop();
    }
    while lines.first().is_some_and(|l| l.is_empty()) {
        lines.remove(0);
    }
    lines
}

/// Whether `actual` shows what `expect` says (with `expected` as the text,
/// its ports already substituted).
pub fn output_matches(expected: &str, mode: Mode, any_numbers: bool, actual: &str) -> bool {
    let want = normalize(expected);
    let got = normalize(actual);
    // None: a line of `...` alone.
    let pats: Vec<Option<Vec<Tok>>> = want
        .iter()
        .map(|l| (l != "...").then(|| compile(l, any_numbers)))
        .collect();
    match mode {
        Mode::Exact => {
            let mut can = vec![false; got.len() + 1];
            can[0] = true;
            for pat in &pats {
                let mut next = vec![false; got.len() + 1];
                for j in 0..=got.len() {
                    if !can[j] {
                        continue;
                    }
                    match pat {
                        None => next[j..].iter_mut().for_each(|n| *n = true),
                        Some(toks) => {
                            if j < got.len() && line_matches(toks, &got[j]) {
                                next[j + 1] = true;
                            }
                        }
                    }
                }
                can = next;
            }
            can[got.len()]
        }
        Mode::Contains => {
            let mut j = 0;
            for toks in pats.iter().flatten() {
                while j < got.len() && !line_matches(toks, &got[j]) {
                    j += 1;
                }
                if j == got.len() {
                    return false;
                }
                j += 1;
            }
            true
        }
        Mode::Unordered => {
            let pats: Vec<&Vec<Tok>> = pats.iter().flatten().collect();
            if pats.len() != got.len() {
                return false;
            }
            // Bipartite matching, expected line to actual line.
            let mut owner: Vec<Option<usize>> = vec![None; got.len()];
            fn assign(
                p: usize,
                pats: &[&Vec<Tok>],
                got: &[String],
                owner: &mut [Option<usize>],
                seen: &mut [bool],
            ) -> bool {
                for j in 0..got.len() {
                    if seen[j] || !line_matches(pats[p], &got[j]) {
                        continue;
                    }
                    seen[j] = true;
                    if owner[j].is_none_or(|q| assign(q, pats, got, owner, seen)) {
                        owner[j] = Some(p);
                        return true;
                    }
                }
                false
            }
            (0..pats.len()).all(|p| assign(p, &pats, &got, &mut owner, &mut vec![false; got.len()]))
        }
    }
}

// ----- running -----------------------------------------------------------------

/// A process started by a section: a server, or a background command.
struct Proc {
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
    err: Arc<Mutex<Vec<u8>>>,
    /// How much of stdout and stderr earlier checks consumed.
    seen: [usize; 2],
    /// The fixed ports (as the tutorial says them) it listens on.
    ports: Vec<u16>,
    readers: Vec<thread::JoinHandle<()>>,
    exited: Option<ExitStatus>,
}

impl Proc {
    fn spawn(mut command: Command) -> Proc {
        use std::os::unix::process::CommandExt;
        command
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .process_group(0);
        let mut child = command
            .spawn()
            .unwrap_or_else(|e| panic!("spawn {command:?}: {e}"));
        let out = Arc::new(Mutex::new(Vec::new()));
        let err = Arc::new(Mutex::new(Vec::new()));
        let readers = vec![
            drain(child.stdout.take().expect("stdout"), out.clone()),
            drain(child.stderr.take().expect("stderr"), err.clone()),
        ];
        Proc {
            child,
            out,
            err,
            seen: [0, 0],
            ports: Vec::new(),
            readers,
            exited: None,
        }
    }

    fn text(&self, stream: Stream) -> String {
        let buf = match stream {
            Stream::Stdout => &self.out,
            Stream::Stderr => &self.err,
        };
        String::from_utf8_lossy(&buf.lock().unwrap()).into_owned()
    }

    fn signal_group(&self, signal: i32) {
        // SAFETY: kill(2) on the process group of a child we spawned (it is
        // its group's leader: process_group(0)); no memory is shared.
        #[allow(unsafe_code)]
        unsafe {
            libc::kill(-(self.child.id() as libc::pid_t), signal);
        }
    }

    fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                self.exited = Some(status);
                return Some(status);
            }
            if Instant::now() >= deadline {
                return None;
            }
            thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited.is_some() {
            return;
        }
        self.signal_group(libc::SIGTERM);
        if self.wait_for_exit(Duration::from_secs(5)).is_none() {
            self.signal_group(libc::SIGKILL);
            let _ = self.child.wait();
        }
    }
}

fn drain(mut pipe: impl Read + Send + 'static, sink: Arc<Mutex<Vec<u8>>>) -> thread::JoinHandle<()> {
    thread::spawn(move || {
        let mut buf = [0; 4096];
        while let Ok(n) = pipe.read(&mut buf) {
            if n == 0 {
                break;
            }
            sink.lock().unwrap().extend_from_slice(&buf[..n]);
        }
    })
}

/// A scratch folder for one section's commands, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new(slug: &str) -> Scratch {
        // Unique per process and per call: no clock involved.
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir().join(format!("torsion-tutorial-{slug}-{}-{n}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).expect("create the scratch folder");
        std::os::unix::fs::symlink(workspace().join("docs"), dir.join("docs")).expect("link docs/");
        Scratch(dir)
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

struct Session {
    slug: String,
    suite: Suite,
    /// Fixed port (as written) -> the port the OS gave.
    ports: HashMap<u16, u16>,
    procs: HashMap<String, Proc>,
    /// Processes the default suite did not start (interop commands).
    skipped: HashSet<String>,
    /// The pidfiles of the servers started with `-d`.
    daemons: Vec<PathBuf>,
    // Dropped after the processes (fields drop in order).
    scratch: Scratch,
}

impl Drop for Session {
    /// Stops the daemons the section left running (a failed check, a page
    /// that forgot): SIGTERM, then SIGKILL if it does not go.
    fn drop(&mut self) {
        for pidfile in &self.daemons {
            let Some(pid) = std::fs::read_to_string(pidfile)
                .ok()
                .and_then(|text| text.trim().parse::<libc::pid_t>().ok())
            else {
                continue;
            };
            let signal = |signal| {
                // SAFETY: kill(2) on the pid a daemon this section started
                // wrote to its pidfile; no memory is shared.
                #[allow(unsafe_code)]
                unsafe {
                    libc::kill(pid, signal);
                }
            };
            signal(libc::SIGTERM);
            let deadline = Instant::now() + Duration::from_secs(10);
            while pidfile.exists() && Instant::now() < deadline {
                thread::sleep(Duration::from_millis(20));
            }
            if pidfile.exists() {
                signal(libc::SIGKILL);
            }
        }
    }
}

/// Runs one section's commands and checks, as `suite` says. Panics with
/// the tutorial's line, the command, and what differed.
pub fn run_section(slug: &str, suite: Suite) {
    let all = sections();
    let section = all
        .iter()
        .find(|s| s.slug == slug)
        .unwrap_or_else(|| panic!("no section {slug} in docs/tutorial.md"));
    let mut session = Session {
        slug: slug.to_string(),
        suite,
        ports: HashMap::new(),
        procs: HashMap::new(),
        skipped: HashSet::new(),
        daemons: Vec::new(),
        scratch: Scratch::new(slug),
    };
    for step in &section.steps {
        match step {
            Step::Commands(c) => session.commands(c),
            Step::Check {
                line,
                interop,
                name,
                stream,
                expect,
            } => {
                if !(*interop && suite == Suite::Default) {
                    session.check(*line, name, *stream, expect)
                }
            }
            Step::Stop { line, name } => session.stop(*line, name),
            Step::DocTests {
                line,
                package,
                item,
                expect,
            } => doc_tests(*line, package, item, expect.as_ref()),
        }
    }
    // Every server still running closes cleanly on SIGTERM, as each promises.
    let names: Vec<String> = session.procs.keys().cloned().collect();
    for name in names {
        let proc = session.procs.get_mut(&name).expect("a process");
        if proc.exited.is_some() {
            continue;
        }
        proc.signal_group(libc::SIGTERM);
        let _ = proc.wait_for_exit(Duration::from_secs(20));
    }
}

/// Checks a `doc tests` block (see [`Step::DocTests`]).
fn doc_tests(line: usize, package: &str, item: &str, expect: Option<&Expect>) {
    let here = format!("docs/tutorial.md line {line}");
    let folder = package.strip_prefix("torsion-").unwrap_or(package);
    let lib = workspace().join(folder).join("src/lib.rs");
    let source =
        std::fs::read_to_string(&lib).unwrap_or_else(|e| panic!("{here}: read {}: {e}", lib.display()));
    let include = "#[doc = include_str!(\"../../docs/tutorial.md\")]";
    let documented = source
        .split(include)
        .skip(1)
        .any(|after| after.trim_start().starts_with(&format!("pub struct {item};")));
    assert!(
        documented,
        "{here}: {} does not make docs/tutorial.md the doc of {item}",
        lib.display()
    );
    let markdown = std::fs::read_to_string(tutorial_path()).expect("read docs/tutorial.md");
    let count = rust_blocks(&markdown);
    let expect = expect.unwrap_or_else(|| panic!("{here}: show what cargo prints after a doc tests block"));
    let claim = format!("test result: ok. {count} passed;");
    assert!(
        expect.text.contains(&claim),
        "{here}: rustdoc finds {count} Rust blocks on this page; the text should show `{claim}`"
    );
}

/// How many blocks of `markdown` rustdoc runs: the `rust` ones not marked
/// `ignore` (the page has no bare blocks, see [`parse`]).
fn rust_blocks(markdown: &str) -> usize {
    let mut open = false;
    let mut count = 0;
    for line in markdown.lines() {
        let Some(info) = line.strip_prefix("```") else {
            continue;
        };
        if open {
            open = false;
            continue;
        }
        open = true;
        let mut attrs = info.split(',').map(str::trim);
        if attrs.next() == Some("rust") && attrs.all(|a| a != "ignore") {
            count += 1;
        }
    }
    count
}

/// The words of a simple command (quotes understood, no expansion).
fn words(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut quote: Option<char> = None;
    for c in line.chars() {
        match (quote, c) {
            (Some(q), c) if c == q => quote = None,
            (Some(_), c) => word.push(c),
            (None, '\'' | '"') => {
                quote = Some(c);
                in_word = true;
            }
            (None, c) if c.is_whitespace() => {
                if in_word {
                    out.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            (None, c) => {
                word.push(c);
                in_word = true;
            }
        }
    }
    assert!(quote.is_none(), "unbalanced quotes in {line:?}");
    if in_word {
        out.push(word);
    }
    out
}

/// `cargo run [--release] [-q] [-p PKG] --bin NAME [-- ARGS]`: the
/// program's name and the byte range of the `cargo run` part (up to and
/// including `--`).
fn cargo_run(line: &str) -> Option<(String, std::ops::Range<usize>)> {
    let start = line.find("cargo run ")?;
    let mut pos = start + "cargo run ".len();
    let mut name = None;
    let rest = &line[pos..];
    let mut consumed = 0;
    let mut iter = rest.split(' ').peekable();
    while let Some(w) = iter.next() {
        consumed += w.len() + 1;
        match w {
            "--release" | "-q" | "--quiet" => {}
            "-p" | "--package" => {
                let p = iter.next().expect("-p PACKAGE");
                consumed += p.len() + 1;
            }
            "--bin" => {
                let n = iter.next().expect("--bin NAME");
                consumed += n.len() + 1;
                name = Some(n.to_string());
            }
            "--" => break,
            _ => {
                consumed -= w.len() + 1;
                break;
            }
        }
    }
    pos += consumed.min(rest.len());
    Some((name.expect("cargo run --bin NAME"), start..pos))
}

/// The path of a workspace binary, built before the tests ran (a test
/// never builds: see [`torsion_tests::binary`]). This package's own
/// binaries come from cargo, which builds them before its tests.
fn program(name: &str) -> PathBuf {
    match name {
        "torsion-origin" => PathBuf::from(env!("CARGO_BIN_EXE_torsion-origin")),
        _ => torsion_tests::binary(name),
    }
}

impl Session {
    fn here(&self, line: usize) -> String {
        format!("docs/tutorial.md line {line} (section {})", self.slug)
    }

    /// Puts the real ports where the tutorial says the fixed ones.
    fn ports_in(&self, text: &str) -> String {
        let mut out = text.to_string();
        for (fixed, actual) in &self.ports {
            let fixed = fixed.to_string();
            let mut result = String::new();
            let mut rest = out.as_str();
            while let Some(at) = rest.find(&fixed) {
                let before = &rest[..at];
                let after = &rest[at + fixed.len()..];
                let host_before = [
                    "127.0.0.1:",
                    "localhost:",
                    "127.0.0.1/",
                    "127.0.0.1 ",
                    "localhost ",
                ]
                .iter()
                .any(|h| before.ends_with(h));
                let digit_after = after.starts_with(|c: char| c.is_ascii_digit());
                result.push_str(before);
                if host_before && !digit_after {
                    result.push_str(&actual.to_string());
                } else {
                    result.push_str(&fixed);
                }
                rest = after;
            }
            result.push_str(rest);
            out = result;
        }
        out
    }

    fn commands(&mut self, c: &Commands) {
        if c.interop && self.suite == Suite::Default {
            if let Some(name) = &c.background {
                self.skipped.insert(name.clone());
            }
            return;
        }
        if let Some(name) = &c.background {
            let line = self.shell_line(&c.commands[0]);
            let proc = Proc::spawn(self.shell(&line));
            self.procs.insert(name.clone(), proc);
            return;
        }
        let server =
            |cmd: &str| cargo_run(cmd).is_some_and(|(name, _)| SERVERS.iter().any(|(s, _)| *s == name));
        if c.commands.iter().any(|cmd| server(cmd)) {
            assert!(
                c.commands.len() == 1,
                "{}: a block that starts a server holds only that command",
                self.here(c.line)
            );
            let name = self.start_server(c.line, &c.commands[0], c.name.clone());
            if let Some((_, expect)) = &c.output {
                let got = self.procs[&name].text(Stream::Stdout);
                let want = self.ports_in(&expect.text);
                assert!(
                    expect.matches(&want, &got),
                    "{}: {name} announced\n{got}\nnot\n{want}",
                    self.here(expect.line)
                );
            }
            return;
        }
        let mut stdout = String::new();
        let mut stderr = String::new();
        let last = c.commands.len() - 1;
        for (i, command) in c.commands.iter().enumerate() {
            let (status, out, err) = self.run(c.line, command);
            stdout.push_str(&out);
            stderr.push_str(&err);
            let want = if i == last { c.exit } else { 0 };
            assert_eq!(
                status.code(),
                Some(want),
                "{}: `{command}` exited with {status}, not {want}\nstdout:\n{out}\nstderr:\n{err}",
                self.here(c.line)
            );
        }
        match &c.output {
            Some((stream, expect)) => {
                let got = if *stream == Stream::Stdout {
                    &stdout
                } else {
                    &stderr
                };
                let want = self.ports_in(&expect.text);
                assert!(
                    expect.matches(&want, got),
                    "{}: the commands printed\n{got}\nwhich is not what the text shows:\n{want}{}\n(stderr:\n{stderr})",
                    self.here(expect.line),
                    expect.describe()
                );
            }
            None => assert!(
                stdout.trim().is_empty(),
                "{}: the commands printed\n{stdout}\nbut the text shows no output",
                self.here(c.line)
            ),
        }
    }

    /// The command line as bash will run it: binaries for `cargo run`, real ports.
    fn shell_line(&self, command: &str) -> String {
        let mut line = self.ports_in(command);
        while let Some((name, range)) = cargo_run(&line) {
            let path = program(&name);
            line.replace_range(range, &format!("{} ", path.display()));
        }
        line
    }

    fn shell(&self, line: &str) -> Command {
        let mut command = Command::new("bash");
        command.arg("-c").arg(line).env_remove("RUST_LOG");
        command.current_dir(&self.scratch.0);
        command
    }

    /// Runs one command to its end: its status, stdout and stderr.
    fn run(&mut self, line: usize, command: &str) -> (ExitStatus, String, String) {
        let shell_line = self.shell_line(command);
        let limit = COMMAND_WAIT;
        let mut proc = Proc::spawn(self.shell(&shell_line));
        let status = match proc.wait_for_exit(limit) {
            Some(status) => status,
            None => {
                proc.signal_group(libc::SIGKILL);
                let _ = proc.wait_for_exit(Duration::from_secs(5));
                panic!(
                    "{}: `{command}` did not finish within {limit:?}\nstdout:\n{}\nstderr:\n{}",
                    self.here(line),
                    proc.text(Stream::Stdout),
                    proc.text(Stream::Stderr)
                );
            }
        };
        (status, proc.text(Stream::Stdout), proc.text(Stream::Stderr))
    }

    /// Starts a server on OS-chosen ports and records them; returns its name.
    fn start_server(&mut self, line: usize, command: &str, name: Option<String>) -> String {
        let (binary, range) = cargo_run(command).expect("cargo run");
        assert!(
            !command.contains(['|', '>', '<', ';', '&', '$', '`']),
            "{}: a server command is a plain command",
            self.here(line)
        );
        let env: Vec<(String, String)> = words(&command[..range.start])
            .iter()
            .map(|w| {
                let (k, v) = w.split_once('=').expect("VAR=value before cargo run");
                (k.to_string(), v.to_string())
            })
            .collect();
        let mut args = words(&command[range.end..]);
        let spec = SERVERS.iter().find(|(s, _)| *s == binary).expect("a server").1;
        let mut fixed = Vec::new();
        for Port {
            announce,
            flag,
            default,
        } in spec.iter()
        {
            // An empty flag: the port is the first argument.
            let value_at = if flag.is_empty() {
                args.first().filter(|a| a.parse::<u16>().is_ok()).map(|_| 0)
            } else {
                let long = (*flag == "-p").then_some("--port");
                let at = args.iter().position(|a| a == flag || Some(a.as_str()) == long);
                at.map(|at| at + 1)
            };
            let port = match value_at {
                Some(at) => {
                    let value = args.get_mut(at).expect("a port after the flag");
                    let port: u16 = value.parse().expect("a port number");
                    *value = "0".into();
                    Some(port)
                }
                None => default.inspect(|_| {
                    if !flag.is_empty() {
                        args.push(flag.to_string());
                    }
                    args.push("0".into());
                }),
            };
            if let Some(port) = port {
                fixed.push((*announce, port));
            }
        }
        let args: Vec<String> = args.iter().map(|a| self.ports_in(a)).collect();
        let daemon = args.iter().any(|a| a == "-d" || a == "--daemon").then(|| {
            let at = args.iter().position(|a| a == "-P" || a == "--pidfile");
            let file = at.and_then(|at| args.get(at + 1)).unwrap_or_else(|| {
                panic!(
                    "{}: a server started with -d needs -P FILE, to be stopped",
                    self.here(line)
                )
            });
            self.scratch.0.join(file)
        });
        let mut cmd = Command::new(program(&binary));
        cmd.args(&args)
            .current_dir(&self.scratch.0)
            .env_remove("RUST_LOG");
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut proc = Proc::spawn(cmd);
        let deadline = Instant::now() + OUTPUT_WAIT;
        let mut found = Vec::new();
        loop {
            let out = proc.text(Stream::Stdout);
            found.clear();
            for (announce, port) in &fixed {
                let prefix = format!("{announce} listening on ");
                let addr = out.lines().find_map(|l| l.strip_prefix(prefix.as_str()));
                if let Some(actual) = addr
                    .and_then(|a| a.rsplit(':').next())
                    .and_then(|p| p.trim().parse::<u16>().ok())
                {
                    found.push((*port, actual));
                }
            }
            if found.len() == fixed.len() {
                break;
            }
            if let Ok(Some(status)) = proc.child.try_wait() {
                // A daemon's command exits once the server listens: what it
                // printed is all there once its pipes are read to the end.
                if daemon.is_some() && status.success() && proc.exited.is_none() {
                    let _ = proc.wait_for_exit(OUTPUT_WAIT);
                    continue;
                }
                panic!(
                    "{}: {binary} exited ({status}) before listening\nstderr:\n{}",
                    self.here(line),
                    proc.text(Stream::Stderr)
                );
            }
            assert!(
                Instant::now() < deadline,
                "{}: {binary} did not announce its ports\nstdout:\n{out}\nstderr:\n{}",
                self.here(line),
                proc.text(Stream::Stderr)
            );
            thread::sleep(Duration::from_millis(20));
        }
        let name = name.unwrap_or_else(|| binary.clone());
        for (port, actual) in &found {
            let holder = self
                .procs
                .iter()
                .find(|(_, p)| p.exited.is_none() && p.ports.contains(port));
            if let Some((other, _)) = holder {
                panic!("{}: port {port} is already {other}'s", self.here(line));
            }
            self.ports.insert(*port, *actual);
        }
        if let Some(pidfile) = daemon {
            let status = proc
                .wait_for_exit(OUTPUT_WAIT)
                .unwrap_or_else(|| panic!("{}: {binary} -d did not return once listening", self.here(line)));
            assert!(
                status.success(),
                "{}: {binary} -d exited with {status}\nstderr:\n{}",
                self.here(line),
                proc.text(Stream::Stderr)
            );
            self.daemons.push(pidfile);
        }
        proc.ports = found.iter().map(|(p, _)| *p).collect();
        proc.seen[0] = proc.text(Stream::Stdout).len();
        if let Some(old) = self.procs.insert(name.clone(), proc) {
            assert!(
                old.exited.is_some(),
                "{}: {name} is already running",
                self.here(line)
            );
        }
        name
    }

    fn check(&mut self, line: usize, name: &str, stream: Stream, expect: &Expect) {
        if self.suite == Suite::Default && self.skipped.contains(name) {
            return;
        }
        let want = self.ports_in(&expect.text);
        let here = self.here(line);
        let proc = self
            .procs
            .get_mut(name)
            .unwrap_or_else(|| panic!("{here}: nothing named {name} runs"));
        let index = if stream == Stream::Stdout { 0 } else { 1 };
        let deadline = Instant::now() + OUTPUT_WAIT;
        loop {
            let text = proc.text(stream);
            let new = &text[proc.seen[index].min(text.len())..];
            if expect.matches(&want, new) {
                proc.seen[index] = text.len();
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{here}: {name} printed\n{new}\nwhich is not what the text shows:\n{want}{}",
                expect.describe()
            );
            thread::sleep(Duration::from_millis(50));
        }
    }

    fn stop(&mut self, line: usize, name: &str) {
        if self.suite == Suite::Default && self.skipped.contains(name) {
            return;
        }
        let here = self.here(line);
        let proc = self
            .procs
            .get_mut(name)
            .unwrap_or_else(|| panic!("{here}: nothing named {name} runs"));
        // Ctrl-C in its terminal: SIGINT to its process group.
        proc.signal_group(libc::SIGINT);
        let status = proc
            .wait_for_exit(OUTPUT_WAIT)
            .unwrap_or_else(|| panic!("{here}: {name} did not stop on Ctrl-C"));
        assert!(status.success(), "{here}: {name} exited with {status}");
        for port in proc.ports.clone() {
            self.ports.remove(&port);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_match_with_wildcards_and_numbers() {
        let m = |want: &str, mode, numbers, got: &str| output_matches(want, mode, numbers, got);
        assert!(m("a\nb", Mode::Exact, false, "a\nb\n\n"));
        // With any numbers, a date is any date: months, days, years, times.
        let logged = "[21/Nov/2026:10:00:09 +0000] \"GET /fib HTTP/1.1\" 200 12778";
        for date in [
            "07/Dec/2026:15:31:15",
            "01/Jan/2029:00:00:00",
            "29/Feb/2028:23:59:59",
            "31/Dec/2028:23:59:30",
        ] {
            let got = format!("[{date} +0000] \"GET /fib HTTP/1.1\" 200 12778");
            assert!(m(logged, Mode::Exact, true, &got), "{got}");
        }
        assert!(!m(
            logged,
            Mode::Exact,
            true,
            "[07/Dex/2026:15:31:15 +0000] \"GET /fib HTTP/1.1\" 200 12778"
        ));
        assert!(!m(
            logged,
            Mode::Exact,
            false,
            "[07/Dec/2026:15:31:15 +0000] \"GET /fib HTTP/1.1\" 200 12778"
        ));
        // A month is a word of its own: "Mayday" is not a month and a day.
        assert!(!m("May 1", Mode::Exact, true, "Mayday 1"));
        assert!(m("in Nov 2026", Mode::Exact, true, "in Mar 2031"));
        assert!(!m("a\nb", Mode::Exact, false, "a\nb\nc"));
        assert!(m("a\n...\nc", Mode::Exact, false, "a\nb\nb\nc"));
        assert!(m("a\n...\nc", Mode::Exact, false, "a\nc"));
        assert!(m("took ...s", Mode::Exact, false, "took 0.25s"));
        assert!(m("a  1\n  b 2", Mode::Exact, false, "a 1\nb    2"));
        assert!(m("took 0.001s", Mode::Exact, true, "took 12.5s"));
        assert!(!m("took 0.001s", Mode::Exact, true, "took 12s"));
        assert!(m("b\na", Mode::Unordered, false, "a\nb"));
        assert!(!m("b\na", Mode::Unordered, false, "a\nb\nc"));
        assert!(m("x 1\nx 2", Mode::Unordered, true, "x 7\nx 9"));
        assert!(m("b\nd", Mode::Contains, false, "a\nb\nc\nd"));
        assert!(!m("d\nb", Mode::Contains, false, "a\nb\nc\nd"));
    }

    #[test]
    fn commands_become_binaries_and_ports_become_real() {
        let (name, range) =
            cargo_run("cargo run --bin torsion-mc -- -s 127.0.0.1:11211 get k | wc -c").unwrap();
        assert_eq!(name, "torsion-mc");
        assert_eq!(
            &"cargo run --bin torsion-mc -- -s"[range.clone()],
            "cargo run --bin torsion-mc -- "
        );
        let (name, range) = cargo_run("cargo run --bin torsion-kv").unwrap();
        assert_eq!((name.as_str(), range), ("torsion-kv", 0..26));
        assert_eq!(words(r#"a 'b c' "d""#), ["a", "b c", "d"]);
        let (name, range) = cargo_run("cargo run -p torsion-tests --bin torsion-origin -- 9000").unwrap();
        assert_eq!((name.as_str(), range), ("torsion-origin", 0..51));
        assert_eq!(last_number("Total:      40    3.806\n"), Some(3.806));
        assert_eq!(last_number("finished."), None);
        assert_eq!(
            slug("## 3. The memcached store!").trim_start_matches('_'),
            "3_the_memcached_store"
        );
    }
}
