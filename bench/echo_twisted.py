"""An echo server on Twisted's default reactor (epoll on Linux), for bench/echo.sh.

    python3 bench/echo_twisted.py [port]

Prints "echo-twisted listening on 127.0.0.1:PORT" and serves until SIGINT or
SIGTERM. TCP_NODELAY is set on every connection, as echo-torsion and echo-mio
do, so Nagle's algorithm treats all three alike.
"""

import sys

from twisted.internet import protocol, reactor


class Echo(protocol.Protocol):
    def connectionMade(self):
        self.transport.setTcpNoDelay(True)

    def dataReceived(self, data):
        self.transport.write(data)


class EchoFactory(protocol.Factory):
    protocol = Echo


def main():
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 0
    listening = reactor.listenTCP(port, EchoFactory(), interface="127.0.0.1")
    address = listening.getHost()
    print(f"echo-twisted listening on {address.host}:{address.port}", flush=True)
    print(f"reactor: {type(reactor).__module__}.{type(reactor).__name__}", file=sys.stderr)
    reactor.run()


if __name__ == "__main__":
    main()
