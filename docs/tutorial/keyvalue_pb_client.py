"""The seeds' RemoteKeyValue (keyvalue_web2.py), in Python 3, as a command
line client of any PB key-value server: keyvalue_pb.py, or torsion-kv's
--pb-port.

usage: python3 keyvalue_pb_client.py [--bytes] HOST:PORT get KEY
       python3 keyvalue_pb_client.py [--bytes] HOST:PORT set KEY VALUE
       python3 keyvalue_pb_client.py [--bytes] HOST:PORT delete KEY

Keys and values go as str, or as bytes with --bytes. It prints the answer's
repr (so 'text' and b'bytes' show which they are), or the remote failure
and exits 1. It gives up after 10 seconds.
"""

import sys

from twisted.internet import reactor
from twisted.python import failure
from twisted.spread import pb


class RemoteKeyValue(object):
    def __init__(self, rkv):
        self.rkv = rkv

    def get(self, key):
        return self.rkv.callRemote('get', key)

    def set(self, key, value):
        return self.rkv.callRemote('set', key, value)

    def delete(self, key):
        return self.rkv.callRemote('delete', key)


def describe(f):
    """A remote failure in one line: its exception's class and message."""
    kind = f.type.decode() if isinstance(f.type, bytes) else failure.reflect.qual(f.type)
    return '%s: %s' % (kind, f.getErrorMessage())


def main(argv):
    as_bytes = '--bytes' in argv
    argv = [a for a in argv if a != '--bytes']
    if len(argv) < 3:
        sys.exit(__doc__)
    host, port = argv[0].rsplit(':', 1)
    command, args = argv[1], argv[2:]
    if as_bytes:
        args = [a.encode() for a in args]
    status = []

    def got_root(root):
        kv = RemoteKeyValue(root)
        return getattr(kv, command)(*args)

    def done(result):
        if isinstance(result, failure.Failure):
            print(describe(result), flush=True)
            status.append(1)
        else:
            print(repr(result), flush=True)
        reactor.stop()

    factory = pb.PBClientFactory()
    reactor.connectTCP(host, int(port), factory, timeout=10)
    factory.getRootObject().addCallback(got_root).addBoth(done)
    reactor.callLater(10, reactor.stop)
    reactor.run()
    sys.exit(status[0] if status else 0)


if __name__ == '__main__':
    main(sys.argv[1:])
