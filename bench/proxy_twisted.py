"""The seeds' URL proxy on Twisted, for bench/proxy.sh: a URL and a newline
in, the page out, then the close.

    python3 bench/proxy_twisted.py [--blocking] [port]

The default is the seeds' proxy2.py: the page is fetched without blocking,
a Deferred firing with it. getPage is gone from modern Twisted: this uses
twisted.web.client.Agent (wrapped in RedirectAgent, since getPage followed
redirects) and readBody, which is what replaced it. --blocking is the seeds'
proxy1.py: urllib's urlopen inside lineReceived, which stalls the reactor.

Prints "proxy-twisted listening on 127.0.0.1:PORT". The listen backlog is
1,024 (Twisted's default is 50), as torsion-proxy's, so that 1,000 clients
connecting at once measure the proxy, not SYN retransmissions.
"""

import sys
import time
import urllib.request

from twisted.internet import protocol, reactor
from twisted.protocols import basic
from twisted.web.client import Agent, RedirectAgent, readBody

agent = RedirectAgent(Agent(reactor))


class ProxyProtocol(basic.LineReceiver):
    delimiter = b"\n"
    blocking = False

    def lineReceived(self, line):
        url = line.strip()
        if not url.startswith(b"http://"):
            return
        start = time.time()
        print("fetching", url.decode(), flush=True)
        if self.blocking:
            # proxy1.py: wrong on purpose.
            data = urllib.request.urlopen(url.decode()).read()
            self.transport.write(data)
            self.transport.loseConnection()
            print("fetched", url.decode(), "took", time.time() - start, flush=True)
            return

        def urlFetched(data):
            self.transport.write(data)
            self.transport.loseConnection()
            print("fetched", url.decode(), "took", time.time() - start, flush=True)

        def failed(failure):
            self.transport.write(b"ERROR " + str(failure.value).encode() + b"\r\n")
            self.transport.loseConnection()

        d = agent.request(b"GET", url)
        d.addCallback(readBody)
        d.addCallbacks(urlFetched, failed)


class ProxyFactory(protocol.ServerFactory):
    protocol = ProxyProtocol


def main():
    args = sys.argv[1:]
    if "--blocking" in args:
        args.remove("--blocking")
        ProxyProtocol.blocking = True
    port = int(args[0]) if args else 0
    listening = reactor.listenTCP(port, ProxyFactory(), backlog=1024, interface="127.0.0.1")
    address = listening.getHost()
    print(f"proxy-twisted listening on {address.host}:{address.port}", flush=True)
    reactor.run()


if __name__ == "__main__":
    main()
