"""The seeds' keyvalue_pb.py ("Perspective Broker: Easy and flexible IPC"),
in Python 3: the KeyValueStore as a pb.Root whose remote_get, remote_set and
remote_delete any PB client calls (torsion-kvc --pb, torsion-kvweb --pb).

usage: python3 keyvalue_pb.py [PORT]

PORT defaults to the seeds' 8789; 0 lets the system choose one. Two changes
from the slides: it listens on 127.0.0.1 only, and it says where on stdout
(its log goes to stderr), so a script can find it.
"""

import sys

from twisted.internet import reactor
from twisted.spread import pb

from keyvalue import KeyValueStore


class KeyValuePB(pb.Root):
    def __init__(self, store):
        self.store = store

    def remote_get(self, key):
        return self.store.get(key)

    def remote_set(self, key, value):
        return self.store.set(key, value)

    def remote_delete(self, key):
        return self.store.delete(key)


if __name__ == '__main__':
    from twisted.python import log
    log.startLogging(sys.stderr, setStdout=False)
    store = KeyValueStore()
    factory = pb.PBServerFactory(KeyValuePB(store))

    port = int(sys.argv[1]) if len(sys.argv) > 1 else 8789
    listening = reactor.listenTCP(port, factory, interface='127.0.0.1')
    print('keyvalue_pb listening on 127.0.0.1:%d' % listening.getHost().port, flush=True)
    reactor.run()
