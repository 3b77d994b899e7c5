"""The seeds' multiclient, in Python 3: one connection per word, sequentially
or all at once (threads), each sending the word and reading until the
server closes. Used by the interop suite as a third-party peer."""

import socket
import sys
import threading


def exchange(host, port, word):
    with socket.create_connection((host, port), timeout=30) as s:
        s.sendall(word.encode() + b"\r\n")
        chunks = []
        while True:
            data = s.recv(1024)
            if not data:
                break
            chunks.append(data)
    return b"".join(chunks).decode()


def main():
    host, port = sys.argv[1].rsplit(":", 1)
    threaded = sys.argv[2] == "--threads"
    words = sys.argv[3:] if threaded else sys.argv[2:]
    replies = {}
    if threaded:
        def run(w):
            replies[w] = exchange(host, int(port), w)
        threads = [threading.Thread(target=run, args=(w,)) for w in words]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
    else:
        for w in words:
            replies[w] = exchange(host, int(port), w)
    for w in words:
        sys.stdout.write(replies[w])
    sys.stdout.flush()


if __name__ == "__main__":
    main()
