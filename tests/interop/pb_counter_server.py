"""A Twisted PB server whose root hands out remote references, for
Torsion's PB client to call and release.

root.counter() returns a new Counter (a pb.Referenceable, sent as
["remote", id]) whose bump(by) adds to it; root.published() says how many
objects the connection's broker still publishes besides the root (a
RemoteReference's decref frees one).

usage: pb_counter_server.py   (listens on a port the system chooses)
"""

from twisted.internet import reactor
from twisted.spread import pb


class Counter(pb.Referenceable):
    def __init__(self):
        self.total = 0

    def remote_bump(self, by):
        self.total += by
        return self.total


class Root(pb.Root):
    def rootObject(self, broker):
        self.broker = broker
        return self

    def remote_counter(self):
        return Counter()

    def remote_published(self):
        return len([luid for luid in self.broker.localObjects if luid != b'root'])


if __name__ == '__main__':
    port = reactor.listenTCP(0, pb.PBServerFactory(Root()), interface='127.0.0.1')
    print('pb_counter_server listening on 127.0.0.1:%d' % port.getHost().port, flush=True)
    reactor.run()
