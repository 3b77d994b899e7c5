"""Drives one memcached client library through every command it offers and
prints a transcript: one JSON line per operation with its result (or the
exception's class). The interop suite runs it against Debian's memcached and
against torsion-memcached and requires the transcripts to be identical.

usage: memcache_transcript.py pymemcache|python-memcached HOST:PORT
"""

import json
import sys

def plain(value):
    """The value as JSON can hold it: bytes as latin-1 text, tuples as lists."""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    if isinstance(value, dict):
        return {plain(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def record(log, name, fn):
    try:
        result = fn()
    except Exception as e:  # the class is what a client program sees
        result = "raised " + type(e).__name__
    log.append([name, plain(result)])


def stable_stats(stats):
    """The stats a client may rely on: the counters this session moved."""
    keys = ("cmd_get", "cmd_set", "get_hits", "get_misses", "curr_items",
            "delete_hits", "delete_misses", "incr_hits", "incr_misses",
            "decr_hits", "decr_misses", "cas_hits", "cas_misses", "cas_badval",
            "touch_hits", "touch_misses", "cmd_touch", "cmd_flush")
    stats = plain(stats)
    return {k: stats.get(k) for k in keys}


def with_pymemcache(addr, log):
    from pymemcache.client.base import Client
    host, port = addr.rsplit(":", 1)
    c = Client((host, int(port)), connect_timeout=10, timeout=10)
    record(log, "flush_all", lambda: c.flush_all())
    record(log, "set", lambda: c.set("k", b"v1", expire=0))
    record(log, "set noreply=False", lambda: c.set("k2", b"v2", noreply=False))
    record(log, "get", lambda: c.get("k"))
    record(log, "get miss", lambda: c.get("missing"))
    record(log, "get_many", lambda: c.get_many(["k", "k2", "missing"]))
    record(log, "set_many", lambda: c.set_many({"a": b"1", "b": b"2"}, noreply=False))
    record(log, "add existing", lambda: c.add("k", b"x", noreply=False))
    record(log, "add new", lambda: c.add("new", b"x", noreply=False))
    record(log, "replace missing", lambda: c.replace("nope", b"x", noreply=False))
    record(log, "replace", lambda: c.replace("new", b"y", noreply=False))
    record(log, "append", lambda: c.append("k", b"+a", noreply=False))
    record(log, "prepend", lambda: c.prepend("k", b"p+", noreply=False))
    record(log, "get after append", lambda: c.get("k"))
    value, cas = c.gets("k")
    record(log, "gets value", lambda: value)
    record(log, "cas ok", lambda: c.cas("k", b"casval", cas, noreply=False))
    record(log, "cas stale", lambda: c.cas("k", b"again", cas, noreply=False))
    record(log, "cas missing", lambda: c.cas("absent", b"x", 1, noreply=False))
    record(log, "gets_many", lambda: {k: v[0] for k, v in c.gets_many(["k", "a"]).items()})
    record(log, "set counter", lambda: c.set("n", b"10", noreply=False))
    record(log, "incr", lambda: c.incr("n", 5, noreply=False))
    record(log, "decr", lambda: c.decr("n", 100, noreply=False))
    record(log, "incr missing", lambda: c.incr("nocounter", 1, noreply=False))
    record(log, "incr non-numeric", lambda: c.incr("k", 1, noreply=False))
    record(log, "touch", lambda: c.touch("k", 100, noreply=False))
    record(log, "touch missing", lambda: c.touch("absent", 100, noreply=False))
    record(log, "delete", lambda: c.delete("k", noreply=False))
    record(log, "delete missing", lambda: c.delete("k", noreply=False))
    record(log, "delete_many", lambda: c.delete_many(["a", "b"], noreply=False))
    record(log, "binary value", lambda: (c.set("bin", bytes(range(256)), noreply=False), c.get("bin")))
    record(log, "large value", lambda: (c.set("large", b"x" * 500000, noreply=False), len(c.get("large"))))
    record(log, "too large value", lambda: c.set("huge", b"x" * 2000000, noreply=False))
    record(log, "key too long", lambda: c.get("k" * 300))
    record(log, "cache_memlimit", lambda: c.cache_memlimit(64))
    record(log, "raw_command", lambda: c.raw_command("verbosity 1"))
    record(log, "version major", lambda: c.version().decode()[:4])
    record(log, "stats", lambda: stable_stats(c.stats()))
    record(log, "stats settings has item_size_max", lambda: "item_size_max" in {
        (k.decode() if isinstance(k, bytes) else k) for k in c.stats("settings")})
    record(log, "flush_all delayed", lambda: c.flush_all(delay=0, noreply=False))
    record(log, "get after flush", lambda: c.get("n"))
    record(log, "quit", lambda: c.quit())


def with_python_memcached(addr, log):
    import memcache
    c = memcache.Client([addr], socket_timeout=10, cache_cas=True)
    record(log, "flush_all", lambda: c.flush_all())
    record(log, "set", lambda: c.set("k", "v1"))
    record(log, "get", lambda: c.get("k"))
    record(log, "get miss", lambda: c.get("missing"))
    record(log, "set_multi", lambda: c.set_multi({"a": "1", "b": 2, "c": [1, 2]}))
    record(log, "get_multi", lambda: c.get_multi(["a", "b", "c", "missing"]))
    record(log, "add existing", lambda: c.add("k", "x"))
    record(log, "add new", lambda: c.add("new", "x"))
    record(log, "replace missing", lambda: c.replace("nope", "x"))
    record(log, "replace", lambda: c.replace("new", "y"))
    record(log, "append", lambda: c.append("k", "+a"))
    record(log, "prepend", lambda: c.prepend("k", "p+"))
    record(log, "get after append", lambda: c.get("k"))
    record(log, "gets", lambda: c.gets("k"))
    record(log, "cas ok", lambda: c.cas("k", "casval"))
    c.reset_cas()
    record(log, "cas without gets", lambda: c.cas("k", "plain"))
    record(log, "incr", lambda: (c.set("n", "10"), c.incr("n", 5)))
    record(log, "decr", lambda: c.decr("n", 100))
    record(log, "incr missing", lambda: c.incr("nocounter"))
    record(log, "touch", lambda: c.touch("k", 100))
    record(log, "delete", lambda: c.delete("k"))
    record(log, "delete missing", lambda: c.delete("k"))
    record(log, "delete_multi", lambda: c.delete_multi(["a", "b"]))
    record(log, "pickled value", lambda: (c.set("obj", {"x": [1, 2, 3]}), c.get("obj")))
    record(log, "int value", lambda: (c.set("int", 42), c.get("int")))
    record(log, "large value", lambda: (c.set("large", "x" * 500000), len(c.get("large"))))
    record(log, "get_stats", lambda: [stable_stats(s) for _, s in c.get_stats()])
    record(log, "get_slabs is a list", lambda: isinstance(c.get_slabs(), list))
    record(log, "get_slab_stats is a list", lambda: isinstance(c.get_slab_stats(), list))
    record(log, "get after flush", lambda: (c.flush_all(), c.get("n"))[1])
    record(log, "disconnect_all", lambda: c.disconnect_all())


def main():
    library, addr = sys.argv[1], sys.argv[2]
    log = []
    {"pymemcache": with_pymemcache, "python-memcached": with_python_memcached}[library](addr, log)
    for entry in log:
        print(json.dumps(entry, sort_keys=True))


if __name__ == "__main__":
    main()
