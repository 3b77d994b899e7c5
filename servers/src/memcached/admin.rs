//! The text protocol's commands about the server rather than a key:
//! `flush_all`, `verbosity`, `shutdown`, `debugtime`, and `stats` with its
//! groups (`settings`, `conns`, `detail`, `reset`, `reactor`, and the store's
//! `items`, `slabs`, `sizes`), each answered as memcached 1.6.18 answers it.
//!
//! What the command line allows is in [`ServerStats::options`]: `-F` refuses
//! `flush_all`, `-A` allows `shutdown`, `-o debug_time` allows `debugtime`.
//! `shutdown` itself only records the request in [`ServerStats::shutdown`]:
//! stopping the reactor is the connection layer's business.

use torsion_protocols::memcache::text::{DebugTime, Reply, Request, ShutdownMode, SlabsCommand, Words};

use super::dialect::{Effect, ExecCtx};
use super::exec::{reset_stats, write_stats_group, ServerStats, StatSink, StatsGroup, MAX_VERBOSITY};
use super::settings::Options;
use super::slab_admin::{self, Reassign};
use super::store::Store;

/// Seconds up to which an expiration time (or a `flush_all` delay) is
/// relative; larger values are unix times (memcached's `REALTIME_MAXDELTA`).
pub const REALTIME_MAXDELTA: i64 = 60 * 60 * 24 * 30;

/// The server's clock as `debugtime` moves it: an offset added to real
/// time, and whether it is stopped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DebugClock {
    /// Seconds added to the real time.
    pub offset: i64,
    /// While stopped (`debugtime p`): the time it stopped at.
    pub paused_at: Option<u32>,
}

impl DebugClock {
    /// The server's time for a real time of `real` (unix seconds).
    pub fn apply(&self, real: u32) -> u32 {
        match self.paused_at {
            Some(at) => at,
            None => u32::try_from((i64::from(real) + self.offset).max(0)).unwrap_or(u32::MAX),
        }
    }
}

fn reply(out: &mut Vec<u8>, noreply: bool, r: Reply) {
    if !noreply {
        r.write(out);
    }
}

/// Runs `request` if it is an admin command; `None` for the others.
pub fn execute(request: &Request<'_>, cx: &mut ExecCtx<'_>) -> Option<Effect> {
    let (store, server, now, out) = (&mut *cx.store, &mut *cx.server, cx.now, &mut *cx.out);
    match *request {
        Request::FlushAll { delay, noreply } => {
            let r = flush_all(store, server, i64::from(delay), now);
            reply(out, noreply, r);
        }
        Request::Stats { args } => write_stats(args, store, server, now, out),
        Request::Verbosity { level, noreply } => {
            server.verbosity = level.min(MAX_VERBOSITY);
            reply(out, noreply, Reply::Ok);
        }
        Request::Shutdown { mode } => {
            if !server.options.shutdown_command {
                Reply::ShutdownNotEnabled.write(out);
            } else if mode == ShutdownMode::Invalid {
                Reply::InvalidShutdownMode.write(out);
            } else {
                server.shutdown = Some(mode);
                server.graceful_stop |= mode == ShutdownMode::Graceful;
                return Some(Effect::Close);
            }
        }
        Request::Slabs { command, noreply } => {
            let r = slabs(command, store, &mut server.options, now);
            if !noreply {
                out.extend_from_slice(r);
            }
        }
        Request::DebugTime(time) => {
            if !server.options.debug_time {
                Reply::Error.write(out);
            } else {
                debug_time(&mut server.clock, time, now);
                Reply::Ok.write(out);
            }
        }
        _ => return None,
    }
    Some(Effect::Continue)
}

/// `flush_all [delay]`: refused under `-F`; an absolute time at or before
/// the server's start is ignored, as memcached ignores it (its flush time
/// would come out as "never flushed").
fn flush_all(store: &mut Store, server: &ServerStats, delay: i64, now: u32) -> Reply {
    if !server.options.flush_enabled {
        return Reply::FlushNotAllowed;
    }
    if delay > REALTIME_MAXDELTA && delay <= i64::from(server.started) {
        return Reply::Ok;
    }
    store.flush_all(delay, now);
    Reply::Ok
}

/// `slabs reassign|automove`: a reassignment moves a page at once
/// ([`slab_admin::reassign`]); the automove settings go to the store, which
/// rebalances by them, and to `stats settings`.
fn slabs(command: SlabsCommand<'_>, store: &mut Store, options: &mut Options, now: u32) -> &'static [u8] {
    match command {
        SlabsCommand::Reassign { src, dst } => {
            if !options.slab_reassign {
                return Reassign::Disabled.reply();
            }
            let (Some(src), Some(dst)) = (src, dst) else {
                return b"CLIENT_ERROR bad command line format\r\n";
            };
            slab_admin::reassign(store, src, dst, now).reply()
        }
        SlabsCommand::Automove(level) => {
            options.slab_automove = level;
            let mut automove = store.automove();
            automove.level = level;
            store.set_automove(automove);
            b"OK\r\n"
        }
        SlabsCommand::AutomoveRatio(ratio) => {
            let ratio = std::str::from_utf8(ratio).ok().and_then(|r| r.parse().ok());
            options.slab_automove_ratio = ratio.unwrap_or(options.slab_automove_ratio);
            let mut automove = store.automove();
            automove.ratio = options.slab_automove_ratio;
            store.set_automove(automove);
            b"OK\r\n"
        }
    }
}

/// Applies `debugtime`: `now` is the server's current (moved) time.
fn debug_time(clock: &mut DebugClock, time: DebugTime, now: u32) {
    match time {
        DebugTime::Advance(seconds) => {
            clock.offset = clock.offset.saturating_add(seconds);
            if let Some(at) = &mut clock.paused_at {
                *at = u32::try_from((i64::from(*at) + seconds).max(0)).unwrap_or(u32::MAX);
            }
        }
        DebugTime::Pause => clock.paused_at = clock.paused_at.or(Some(now)),
        DebugTime::Resume => clock.paused_at = None,
    }
}

/// `stats [group]`.
fn write_stats(args: Words<'_>, store: &mut Store, server: &mut ServerStats, now: u32, out: &mut Vec<u8>) {
    let mut words = args.iter();
    let group = match words.next() {
        Some(b"reset") => {
            reset_stats(store, server);
            Reply::Reset.write(out);
            return;
        }
        Some(b"detail") => {
            match words.next() {
                Some(b"on") => {
                    server.detail.set_enabled(true);
                    Reply::Ok.write(out);
                }
                Some(b"off") => {
                    server.detail.set_enabled(false);
                    Reply::Ok.write(out);
                }
                Some(b"dump") => server.detail.dump(out),
                _ => out.extend_from_slice(b"CLIENT_ERROR usage: stats detail on|off|dump\r\n"),
            }
            return;
        }
        Some(b"conns") => {
            server.conns.write(now, out);
            Reply::End.write(out);
            return;
        }
        Some(switch @ (b"sizes_enable" | b"sizes_disable")) => {
            // memcached answers these without an END.
            super::class_report::switch_sizes(store, switch == b"sizes_enable", out);
            return;
        }
        Some(b"cachedump") => {
            let rest: Vec<&[u8]> = words.collect();
            super::class_report::cachedump(store, &rest, out);
            return;
        }
        Some(b"reactor") => {
            for (name, value) in &server.reactor {
                out.stat(name, value);
            }
            Reply::End.write(out);
            return;
        }
        arg => StatsGroup::parse(arg),
    };
    match group {
        Some(group) => {
            write_stats_group(group, store, server, now, out);
            Reply::End.write(out);
        }
        None => Reply::Error.write(out),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::memcached::dialect::Ascii;
    use crate::memcached::testkit::{self, NOW};

    type Conversation = testkit::Conversation<Ascii>;

    #[test]
    fn flush_all_refused_with_dash_f_and_ignored_before_the_start() {
        let mut c = Conversation::new();
        c.expect(b"set a 0 0 1\r\n1\r\n", b"STORED\r\n");
        let before_start = NOW - 1000;
        c.expect(format!("flush_all {before_start}\r\n").as_bytes(), b"OK\r\n");
        c.expect(b"get a\r\n", b"VALUE a 0 1\r\n1\r\nEND\r\n");
        c.server.options.flush_enabled = false;
        c.expect(b"flush_all\r\n", b"CLIENT_ERROR flush_all not allowed\r\n");
        c.expect(b"flush_all x\r\n", b"CLIENT_ERROR flush_all not allowed\r\n");
        c.expect(b"flush_all noreply\r\n", b"");
        c.expect(b"get a\r\n", b"VALUE a 0 1\r\n1\r\nEND\r\n");
        c.server.options.flush_enabled = true;
        c.expect(b"flush_all\r\n", b"OK\r\n");
        c.expect(b"get a\r\n", b"END\r\n");
    }

    #[test]
    fn shutdown_needs_dash_a() {
        let mut c = Conversation::new();
        c.expect(b"shutdown\r\n", b"ERROR: shutdown not enabled\r\n");
        c.expect(b"shutdown foo\r\n", b"ERROR: shutdown not enabled\r\n");
        assert_eq!(c.server.shutdown, None);
        c.server.options.shutdown_command = true;
        c.expect(b"shutdown foo\r\n", b"CLIENT_ERROR invalid shutdown mode\r\n");
        assert!(!c.closed);
        c.expect(b"shutdown graceful\r\n", b"");
        assert!(c.closed);
        assert_eq!(c.server.shutdown, Some(ShutdownMode::Graceful));
    }

    #[test]
    fn debugtime_needs_the_option_and_moves_the_clock() {
        let mut c = Conversation::new();
        c.expect(b"debugtime 5\r\n", b"ERROR\r\n");
        c.server.options.debug_time = true;
        c.expect(b"debugtime 5\r\n", b"OK\r\n");
        c.expect(b"debugtime p\r\n", b"OK\r\n");
        assert_eq!(c.server.clock.offset, 5);
        assert_eq!(c.server.clock.apply(NOW), NOW);
        c.expect(b"debugtime 2\r\n", b"OK\r\n");
        assert_eq!(c.server.clock.apply(NOW + 50), NOW + 2);
        c.expect(b"debugtime r\r\n", b"OK\r\n");
        assert_eq!(c.server.clock.apply(NOW), NOW + 7);
    }

    #[test]
    fn without_cas_binary_responses_carry_zero() {
        // A binary set of k = v: header, 8 bytes of extras (flags, exptime), key, value.
        let mut set = vec![0x80, 0x01, 0, 1, 8, 0, 0, 0, 0, 0, 0, 10, 0, 0, 0, 0];
        set.extend([0; 8]);
        set.extend([0; 8]);
        set.extend(b"kv");
        for (enabled, nonzero) in [(true, true), (false, false)] {
            let mut c = testkit::Conversation::<crate::memcached::dialect::Binary>::new();
            c.server.options.cas_enabled = enabled;
            let reply = c.send(&set);
            assert_eq!(reply.len(), 24);
            assert_eq!(reply[16..24].iter().any(|&b| b != 0), nonzero);
        }
    }

    #[test]
    fn slabs_commands() {
        let mut c = Conversation::new();
        c.expect(
            b"slabs automove invalid\r\n",
            b"CLIENT_ERROR bad command line format\r\n",
        );
        c.expect(b"slabs automove 2\r\n", b"OK\r\n");
        assert_eq!(c.setting("slab_automove"), "2");
        c.expect(b"slabs automove ratio 0.5\r\n", b"OK\r\n");
        assert_eq!(c.setting("slab_automove_ratio"), "0.50");
        c.expect(
            b"slabs reassign 1 x\r\n",
            b"CLIENT_ERROR bad command line format\r\n",
        );
        c.expect(
            b"slabs reassign 3 3\r\n",
            b"SAME src and dst class are identical\r\n",
        );
        c.expect(
            b"slabs reassign 1 99\r\n",
            b"BADCLASS invalid src or dst class id\r\n",
        );
        c.expect(
            b"slabs reassign 1 2\r\n",
            b"NOSPARE source class has no spare pages\r\n",
        );
        c.server.options.slab_reassign = false;
        c.expect(
            b"slabs reassign 1 2\r\n",
            b"CLIENT_ERROR slab reassignment disabled\r\n",
        );
        c.expect(b"slabs automove 1 noreply\r\n", b"");
    }

    #[test]
    fn stats_detail() {
        let mut c = Conversation::new();
        c.expect(b"stats detail dump\r\n", b"END\r\n");
        c.expect(
            b"stats detail\r\n",
            b"CLIENT_ERROR usage: stats detail on|off|dump\r\n",
        );
        c.expect(b"stats detail on\r\n", b"OK\r\n");
        c.expect(b"set foo:123 0 0 6\r\nfooval\r\n", b"STORED\r\n");
        c.expect(
            b"get foo:123 foo:124\r\n",
            b"VALUE foo:123 0 6\r\nfooval\r\nEND\r\n",
        );
        c.expect(b"delete foo:125\r\n", b"NOT_FOUND\r\n");
        c.expect(
            b"stats detail dump\r\n",
            b"PREFIX foo get 2 hit 1 set 1 del 1\r\nEND\r\n",
        );
        assert_eq!(c.setting("detail_enabled"), "yes");
        c.expect(b"stats reset\r\n", b"RESET\r\n");
        c.expect(b"stats detail dump\r\n", b"END\r\n");
        c.expect(b"stats detail off\r\n", b"OK\r\n");
        c.expect(b"get foo:123\r\n", b"VALUE foo:123 0 6\r\nfooval\r\nEND\r\n");
        c.expect(b"stats detail dump\r\n", b"END\r\n");
    }

    #[test]
    fn reactor_figures_have_their_own_group() {
        let mut c = Conversation::new();
        c.server.reactor.push(("reactor_wakeups", 7));
        c.expect(b"stats reactor\r\n", b"STAT reactor_wakeups 7\r\nEND\r\n");
        assert!(!String::from_utf8(c.send(b"stats\r\n"))
            .unwrap()
            .contains("reactor_"));
    }
}
