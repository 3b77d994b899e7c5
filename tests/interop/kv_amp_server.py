"""A Twisted AMP server answering Get/Set/Delete on a dict (the seeds'
KeyValueStore over AMP instead of Perspective Broker), for Torsion's AMP
client to call.

usage: kv_amp_server.py PORT
"""

import sys

from twisted.internet import reactor
from twisted.internet.protocol import Factory
from twisted.protocols import amp

from kv_commands import Delete, Get, Set


class KeyValueAMP(amp.AMP):
    def __init__(self, store):
        super().__init__()
        self.store = store

    @Get.responder
    def get(self, key):
        return {"value": self.store[key]}

    @Set.responder
    def set(self, key, value):
        self.store[key] = value
        return {}

    @Delete.responder
    def delete(self, key):
        del self.store[key]
        return {}


def main():
    port = int(sys.argv[1])
    store = {}
    factory = Factory.forProtocol(lambda: KeyValueAMP(store))
    reactor.listenTCP(port, factory, interface="127.0.0.1")
    print(f"kv_amp_server listening on 127.0.0.1:{port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
