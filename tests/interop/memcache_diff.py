"""Differential test: every probe in memcache_cases.py goes, on a fresh
connection, to Debian's memcached and to torsion-memcached at the same time;
the two replies must be byte for byte equal. Between cases both servers are
flushed, so each case starts from an empty store (CAS ids keep counting, in
step, on both).

usage: memcache_diff.py MEMCACHED_ADDR TORSION_ADDR
Prints each difference and ends with "N/M identical"; exits 1 if any differ.
"""

import socket
import sys
import threading

from memcache_cases import CASES

QUIET = 0.15  # a reply is complete after this long without more bytes


def exchange(addr, request, results, slot):
    host, port = addr.rsplit(":", 1)
    out = b""
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(request)
        s.settimeout(QUIET)
        while True:
            try:
                data = s.recv(65536)
            except socket.timeout:
                break
            except ConnectionResetError:
                out += b"<RESET>"
                break
            if not data:
                out += b"<CLOSED>"
                break
            out += data
    results[slot] = out


def flush(addr):
    host, port = addr.rsplit(":", 1)
    with socket.create_connection((host, int(port)), timeout=10) as s:
        s.sendall(b"flush_all\r\n")
        reply = b""
        while not reply.endswith(b"\r\n"):
            reply += s.recv(100)
        assert reply == b"OK\r\n", reply


def main():
    reference, torsion = sys.argv[1], sys.argv[2]
    differ = 0
    for name, request in CASES:
        results = [None, None]
        threads = [threading.Thread(target=exchange, args=(a, request, results, i))
                   for i, a in enumerate((reference, torsion))]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        if results[0] != results[1]:
            differ += 1
            print(f"--- {name}\n  request:   {request[:300]!r}\n  memcached: {results[0][:600]!r}\n"
                  f"  torsion:   {results[1][:600]!r}")
        flush(reference)
        flush(torsion)
    print(f"{len(CASES) - differ}/{len(CASES)} identical")
    sys.exit(1 if differ else 0)


if __name__ == "__main__":
    main()
