"""Runs one Twisted session to its end, for the interop scripts.

run(session, *args) calls session(*args), a function returning a Deferred,
once the reactor runs, and exits 0 when it succeeds; 1, with the traceback
on stderr, when it fails or has not finished within `limit` seconds.
"""

import sys

from twisted.internet import reactor
from twisted.python import failure


def run(session, *args, limit=30):
    failures = []

    def finish(problem=None):
        if problem is not None:
            failures.append(problem)
            print(problem, file=sys.stderr)
        if reactor.running:
            reactor.stop()

    def done(result):
        if overrun.active():
            overrun.cancel()
        finish(result.getTraceback() if isinstance(result, failure.Failure) else None)

    overrun = reactor.callLater(limit, finish, 'the session took more than %s s' % limit)
    reactor.callWhenRunning(lambda: session(*args).addBoth(done))
    reactor.run()
    sys.exit(1 if failures else 0)
