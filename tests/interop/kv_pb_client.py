"""The seeds' RemoteKeyValue (docs/tutorial/keyvalue_pb_client.py) calls a
Perspective Broker key-value server (torsion-kv's --pb-port, or the seeds'
keyvalue_pb.py) through Twisted's PBClientFactory, and prints one line per
call: the answer's repr, or the remote failure. The interop suite compares
the transcripts the two servers give.

usage: kv_pb_client.py HOST:PORT
"""

import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(__file__), '..', '..', 'docs', 'tutorial'))

from twisted.internet import defer, reactor  # noqa: E402
from twisted.spread import pb  # noqa: E402

from keyvalue_pb_client import RemoteKeyValue, describe  # noqa: E402
from twisted_run import run  # noqa: E402


class Failed(object):
    """A call's failure, kept as a value so the session goes on."""

    def __init__(self, f):
        self.failure = f

    def __repr__(self):
        key_error = ' (a KeyError)' if self.failure.check(KeyError) else ''
        return 'failure %s%s' % (describe(self.failure), key_error)


def settled(d):
    return d.addErrback(Failed)


def summary(value):
    if isinstance(value, bytes) and len(value) > 40:
        return '%d bytes, sum %d' % (len(value), sum(value))
    return repr(value)


def show(label, value):
    print('%s: %s' % (label, summary(value)), flush=True)


@defer.inlineCallbacks
def session(host, port):
    factory = pb.PBClientFactory()
    reactor.connectTCP(host, port, factory, timeout=10)
    root = yield factory.getRootObject()
    kv = RemoteKeyValue(root)

    @defer.inlineCallbacks
    def attempt(label, d):
        show(label, (yield settled(d)))

    yield attempt('get missing', kv.get('greeting'))
    yield attempt('set', kv.set('greeting', 'hello world'))
    yield attempt('get', kv.get('greeting'))
    yield attempt('set bytes', kv.set(b'bin', bytes(range(256)) * 4))
    yield attempt('get bytes', kv.get(b'bin'))
    yield attempt('get bytes missing', kv.get(b'nothing'))
    yield attempt('set unicode', kv.set('clé', 'värde ☃'))
    yield attempt('get unicode', kv.get('clé'))
    yield attempt('set str key, bytes value', kv.set('mixed', b'\x00\xff'))
    yield attempt('get it', kv.get('mixed'))
    yield attempt('delete', kv.delete('greeting'))
    yield attempt('get deleted', kv.get('greeting'))
    yield attempt('delete missing', kv.delete('greeting'))
    yield attempt('by keyword', root.callRemote('set', key='kw', value='by name'))
    yield attempt('read back', kv.get('kw'))
    result = yield settled(root.callRemote('frob'))
    show('no such method', result)
    # Twisted's own message names the class (KeyValuePB.remote_get()); the kind is what counts.
    result = yield settled(root.callRemote('get'))
    show('too few arguments', result.failure.type.decode())
    # Fifty calls in flight at once, each answered to its own caller.
    sets = [kv.set('k%d' % i, 'v%d' % i) for i in range(50)]
    gets = [kv.get('k%d' % i) for i in range(50)]
    keys = yield defer.gatherResults(sets)
    values = yield defer.gatherResults(gets)
    ok = keys == ['k%d' % i for i in range(50)] and values == ['v%d' % i for i in range(50)]
    show('fifty in flight', 'ok' if ok else (keys, values))
    factory.disconnect()


if __name__ == '__main__':
    host, port = sys.argv[1].rsplit(':', 1)
    run(session, host, int(port))
