"""Twisted's own AMP client calls Get/Set/Delete on an AMP server (torsion-kv's
--amp-port) and prints one line per call: what it answered, or the error
Twisted raised. The interop suite compares the transcript with the one
Twisted's own server (kv_amp_server.py) gives.

usage: kv_amp_client.py HOST:PORT
"""

import sys

from twisted.internet import defer, endpoints, reactor
from twisted.protocols import amp

from kv_commands import Delete, Get, Set, Sum
from twisted_run import run


def summary(value):
    """Short values as they are, long ones by length and checksum."""
    if isinstance(value, bytes) and len(value) > 40:
        return f"{len(value)} bytes, sum {sum(value)}"
    return value


def show(label, outcome):
    print(f"{label}: {outcome}", flush=True)


@defer.inlineCallbacks
def session(host, port):
    endpoint = endpoints.TCP4ClientEndpoint(reactor, host, port, timeout=10)
    proto = yield endpoints.connectProtocol(endpoint, amp.AMP())

    @defer.inlineCallbacks
    def attempt(label, command, **kw):
        try:
            result = yield proto.callRemote(command, **kw)
            show(label, sorted((k, summary(v)) for k, v in result.items()))
        except KeyError:
            # The description is for people (Twisted's own server sends
            # "b'key'", torsion-kv the key): only the error's kind counts.
            show(label, "KeyError")
        except amp.UnhandledCommand as e:
            show(label, f"UnhandledCommand {e.args[0]!r}")
        except amp.RemoteAmpError as e:
            show(label, f"{type(e).__name__} {e.errorCode!r}")

    yield attempt("get missing", Get, key=b"greeting")
    yield attempt("set", Set, key=b"greeting", value=b"hello world")
    yield attempt("get", Get, key=b"greeting")
    yield attempt("set binary", Set, key=b"bin", value=bytes(range(256)) * 4)
    yield attempt("get binary", Get, key=b"bin")
    yield attempt("delete", Delete, key=b"greeting")
    yield attempt("get deleted", Get, key=b"greeting")
    yield attempt("delete missing", Delete, key=b"greeting")
    yield attempt("unhandled", Sum, a=1, b=2)
    # Many calls in flight at once, answered by tag.
    results = yield defer.gatherResults(
        [proto.callRemote(Set, key=b"k%d" % i, value=b"v%d" % i) for i in range(50)]
    )
    values = yield defer.gatherResults(
        [proto.callRemote(Get, key=b"k%d" % i) for i in range(50)]
    )
    ok = len(results) == 50 and all(
        v["value"] == b"v%d" % i for i, v in enumerate(values)
    )
    show("fifty in flight", "ok" if ok else values)
    proto.transport.loseConnection()


if __name__ == "__main__":
    host, port = sys.argv[1].rsplit(":", 1)
    run(session, host, int(port))
