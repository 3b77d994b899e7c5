//! `lru_crawler ...`: the LRU crawler's controls and its dumps.
//!
//! ```text
//! lru_crawler enable|disable\r\n         OK | ERROR failed to start lru crawler thread
//! lru_crawler crawl <ids|all>\r\n        OK | BUSY ... | BADCLASS invalid class id
//! lru_crawler sleep <microseconds>\r\n   OK | CLIENT_ERROR sleep must be one second or less
//! lru_crawler tocrawl <n>\r\n            OK | CLIENT_ERROR bad command line format
//! lru_crawler metadump <ids|all|hash>\r\n   key=... exp=... la=... cas=... fetch=... cls=... size=... lines, END
//! lru_crawler mgdump [<ids|all|hash>]\r\n   mg <key> lines, EN
//! ```
//!
//! Arguments travel as sent: which class ids exist and what a number may be
//! is the server's to say, in memcached's words.

use super::tokens::Tokens;
use super::{error, ErrorKind, Request, RequestError};

/// An `lru_crawler` subcommand, its argument as sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LruCrawlerCommand<'a> {
    /// `lru_crawler enable`: start the background crawler.
    Enable,
    /// `lru_crawler disable`: stop it.
    Disable,
    /// `lru_crawler crawl <ids|all>`: reclaim the expired items of those
    /// classes (ids separated by commas).
    Crawl(&'a [u8]),
    /// `lru_crawler sleep <microseconds>`: the pause between crawl slices.
    Sleep(&'a [u8]),
    /// `lru_crawler tocrawl <n>`: items to look at per class and crawl.
    ToCrawl(&'a [u8]),
    /// `lru_crawler metadump <ids|all|hash>`: one line per live item.
    Metadump(&'a [u8]),
    /// `lru_crawler mgdump [<ids|all|hash>]`: one `mg <key>` line per live
    /// item (all of them without an argument).
    Mgdump(&'a [u8]),
}

/// `lru_crawler <subcommand> [argument]`; `ERROR` for anything else.
pub(super) fn parse<'a>(t: &Tokens<'a>) -> Result<Request<'a>, RequestError> {
    let unknown = error(ErrorKind::UnknownCommand, false);
    let n = t.ntokens();
    if n < 3 {
        return Err(unknown);
    }
    let sub = t.get(1);
    let command = match (sub, n) {
        (b"enable", 3) => LruCrawlerCommand::Enable,
        (b"disable", 3) => LruCrawlerCommand::Disable,
        (b"mgdump", 3) => LruCrawlerCommand::Mgdump(b"all"),
        (_, 4) => {
            let arg = t.get(2);
            match sub {
                b"crawl" => LruCrawlerCommand::Crawl(arg),
                b"sleep" => LruCrawlerCommand::Sleep(arg),
                b"tocrawl" => LruCrawlerCommand::ToCrawl(arg),
                b"metadump" => LruCrawlerCommand::Metadump(arg),
                b"mgdump" => LruCrawlerCommand::Mgdump(arg),
                _ => return Err(unknown),
            }
        }
        _ => return Err(unknown),
    };
    Ok(Request::LruCrawler(command))
}

/// Appends `lru_crawler ...\r\n`.
pub fn write_lru_crawler(out: &mut Vec<u8>, command: LruCrawlerCommand<'_>) {
    out.extend_from_slice(b"lru_crawler ");
    let (word, arg): (&[u8], Option<&[u8]>) = match command {
        LruCrawlerCommand::Enable => (b"enable", None),
        LruCrawlerCommand::Disable => (b"disable", None),
        LruCrawlerCommand::Crawl(a) => (b"crawl", Some(a)),
        LruCrawlerCommand::Sleep(a) => (b"sleep", Some(a)),
        LruCrawlerCommand::ToCrawl(a) => (b"tocrawl", Some(a)),
        LruCrawlerCommand::Metadump(a) => (b"metadump", Some(a)),
        LruCrawlerCommand::Mgdump(a) => (b"mgdump", Some(a)),
    };
    out.extend_from_slice(word);
    if let Some(arg) = arg {
        out.push(b' ');
        out.extend_from_slice(arg);
    }
    out.extend_from_slice(b"\r\n");
}

#[cfg(test)]
mod tests {
    use super::super::{parse_line, ErrorKind, Request};
    use super::{write_lru_crawler, LruCrawlerCommand};

    fn parse(line: &[u8]) -> Result<LruCrawlerCommand<'_>, ErrorKind> {
        match parse_line(line) {
            Ok(Request::LruCrawler(c)) => Ok(c),
            Ok(other) => panic!("not lru_crawler: {other:?}"),
            Err(e) => Err(e.kind),
        }
    }

    #[test]
    fn subcommands() {
        assert_eq!(parse(b"lru_crawler enable"), Ok(LruCrawlerCommand::Enable));
        assert_eq!(parse(b"lru_crawler disable"), Ok(LruCrawlerCommand::Disable));
        assert_eq!(
            parse(b"lru_crawler crawl 1,2"),
            Ok(LruCrawlerCommand::Crawl(b"1,2"))
        );
        assert_eq!(
            parse(b"lru_crawler metadump hash"),
            Ok(LruCrawlerCommand::Metadump(b"hash"))
        );
        assert_eq!(
            parse(b"lru_crawler mgdump"),
            Ok(LruCrawlerCommand::Mgdump(b"all"))
        );
        assert_eq!(
            parse(b"lru_crawler sleep 10"),
            Ok(LruCrawlerCommand::Sleep(b"10"))
        );
        assert_eq!(
            parse(b"lru_crawler tocrawl x"),
            Ok(LruCrawlerCommand::ToCrawl(b"x"))
        );
    }

    #[test]
    fn malformed_is_error() {
        for line in [
            &b"lru_crawler"[..],
            b"lru_crawler foo",
            b"lru_crawler metadump",
            b"lru_crawler crawl",
            b"lru_crawler enable now",
            b"lru_crawler crawl 1 2",
        ] {
            assert_eq!(parse(line), Err(ErrorKind::UnknownCommand), "{line:?}");
        }
    }

    #[test]
    fn round_trip() {
        for c in [
            LruCrawlerCommand::Enable,
            LruCrawlerCommand::Crawl(b"all"),
            LruCrawlerCommand::Metadump(b"1"),
        ] {
            let mut out = Vec::new();
            write_lru_crawler(&mut out, c);
            assert_eq!(parse(&out[..out.len() - 2]), Ok(c));
        }
    }
}
