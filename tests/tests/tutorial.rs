//! Runs every shell command of `docs/tutorial.md` and checks it prints
//! what the page shows: one test per section, each in a scratch folder with
//! its servers on ports the OS chooses. Commands that need netcat, curl or
//! memcached are left to the interop suite (`tests/interop.rs`, `mod
//! tutorial_interop`). How the page marks its commands: `tutorial/harness.rs`.

#[path = "tutorial/harness.rs"]
mod harness;

use harness::{run_section, Suite};

/// The sections that run commands, in the page's order. A test below runs
/// each; `every_section_with_commands_is_run` keeps this list honest.
const SECTIONS: &[&str] = &[
    "hello_a_first_server",
    "upper_answering_back",
    "a_memcached_store",
    "timeouts",
    "asking_for_news_the_weblog_pulled",
    "repeating_calls_the_weblog",
    "state_that_outlives_the_process_fibonacci",
    "in_the_background_twistd",
    "a_proxy_and_its_timing_tables",
    "caching_pages",
    "writing_clients",
    "the_key_value_store",
    "web_pages",
    "the_key_value_store_on_the_web",
    "rpc",
    "long_running_work",
    "testing",
];

#[test]
fn every_section_with_commands_is_run() {
    let sections = harness::sections();
    let with_commands: Vec<&str> = sections
        .iter()
        .filter(|s| s.has_commands())
        .map(|s| s.slug.as_str())
        .collect();
    assert_eq!(with_commands, SECTIONS, "update SECTIONS and the tests below");
}

#[test]
fn the_page_has_no_bare_or_unrun_blocks() {
    // Parsing checks every block: a language on each (rustdoc compiles
    // bare blocks as Rust), shell commands only in sh blocks, directives
    // understood, interop blocks using a program the default suite lacks.
    let sections = harness::sections();
    let commands: usize = sections
        .iter()
        .flat_map(|s| &s.steps)
        .filter(|s| matches!(s, harness::Step::Commands(_)))
        .count();
    assert!(commands > 30, "only {commands} command blocks found");
    let interop = sections.iter().filter(|s| s.has_interop()).count();
    assert!(interop > 0, "the interop suite has nothing of this page to run");
}

#[test]
fn hello_a_first_server() {
    run_section("hello_a_first_server", Suite::Default);
}

#[test]
fn upper_answering_back() {
    run_section("upper_answering_back", Suite::Default);
}

#[test]
fn a_memcached_store() {
    run_section("a_memcached_store", Suite::Default);
}

#[test]
fn timeouts() {
    run_section("timeouts", Suite::Default);
}

#[test]
fn asking_for_news_the_weblog_pulled() {
    run_section("asking_for_news_the_weblog_pulled", Suite::Default);
}

#[test]
fn repeating_calls_the_weblog() {
    run_section("repeating_calls_the_weblog", Suite::Default);
}

#[test]
fn state_that_outlives_the_process_fibonacci() {
    run_section("state_that_outlives_the_process_fibonacci", Suite::Default);
}

#[test]
fn in_the_background_twistd() {
    run_section("in_the_background_twistd", Suite::Default);
}

#[test]
fn a_proxy_and_its_timing_tables() {
    run_section("a_proxy_and_its_timing_tables", Suite::Default);
}

#[test]
fn caching_pages() {
    run_section("caching_pages", Suite::Default);
}

#[test]
fn writing_clients() {
    run_section("writing_clients", Suite::Default);
}

#[test]
fn the_key_value_store() {
    run_section("the_key_value_store", Suite::Default);
}

#[test]
fn web_pages() {
    run_section("web_pages", Suite::Default);
}

#[test]
fn the_key_value_store_on_the_web() {
    run_section("the_key_value_store_on_the_web", Suite::Default);
}

#[test]
fn rpc() {
    run_section("rpc", Suite::Default);
}

#[test]
fn long_running_work() {
    run_section("long_running_work", Suite::Default);
}

#[test]
fn testing() {
    run_section("testing", Suite::Default);
}
