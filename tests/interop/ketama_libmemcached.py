"""Asks libmemcached itself where its weighted ketama distribution puts keys.

Reads a server list and keys on stdin: first line `host:port:weight,...`,
then one key per line. Prints, for each key, the index of its server (in
the order given), as computed by `memcached_generate_hash` of the installed
libmemcached (libmemcached11), with MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED set:
md5 keys, 160 points per server, `host:port-N` point names (`host-N` on
port 11211). No server needs to run: placement connects to nothing.

usage: ketama_libmemcached.py < servers-and-keys
"""

import ctypes
import sys

# enum memcached_behavior_t in libmemcached-1.0/types/behavior.h
MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED = 16

lib = ctypes.CDLL("libmemcached.so.11")
lib.memcached_create.restype = ctypes.c_void_p
lib.memcached_create.argtypes = [ctypes.c_void_p]
lib.memcached_free.argtypes = [ctypes.c_void_p]
lib.memcached_server_add_with_weight.argtypes = [
    ctypes.c_void_p, ctypes.c_char_p, ctypes.c_uint16, ctypes.c_uint32]
lib.memcached_behavior_set.argtypes = [ctypes.c_void_p, ctypes.c_int, ctypes.c_uint64]
lib.memcached_behavior_get.argtypes = [ctypes.c_void_p, ctypes.c_int]
lib.memcached_behavior_get.restype = ctypes.c_uint64
lib.memcached_generate_hash.argtypes = [ctypes.c_void_p, ctypes.c_char_p, ctypes.c_size_t]
lib.memcached_generate_hash.restype = ctypes.c_uint32


def main():
    lines = sys.stdin.buffer.read().split(b"\n")
    servers = lines[0].decode().split(",")
    keys = [k for k in lines[1:] if k]
    memc = lib.memcached_create(None)
    if lib.memcached_behavior_set(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED, 1) != 0:
        sys.exit("cannot set MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED")
    for server in servers:
        host, port, weight = server.rsplit(":", 2)
        if lib.memcached_server_add_with_weight(memc, host.encode(), int(port), int(weight)) != 0:
            sys.exit("cannot add server " + server)
    if lib.memcached_behavior_get(memc, MEMCACHED_BEHAVIOR_KETAMA_WEIGHTED) != 1:
        sys.exit("ketama_weighted did not stick")
    out = [str(lib.memcached_generate_hash(memc, key, len(key))) for key in keys]
    lib.memcached_free(memc)
    print("\n".join(out))


main()
