"""The key-value store's AMP commands, declared as any Twisted program
declares them; shared by kv_amp_client.py and kv_amp_server.py."""

from twisted.protocols import amp


class Get(amp.Command):
    arguments = [(b"key", amp.String())]
    response = [(b"value", amp.String())]
    errors = {KeyError: b"KEY_NOT_FOUND"}


class Set(amp.Command):
    arguments = [(b"key", amp.String()), (b"value", amp.String())]
    response = []


class Delete(amp.Command):
    arguments = [(b"key", amp.String())]
    response = []
    errors = {KeyError: b"KEY_NOT_FOUND"}


class Sum(amp.Command):
    """Not a key-value command: torsion-kv must answer it UNHANDLED."""

    arguments = [(b"a", amp.Integer()), (b"b", amp.Integer())]
    response = [(b"total", amp.Integer())]
