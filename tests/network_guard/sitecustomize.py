"""Loaded by every Python process of a guarded test run (PYTHONPATH), children included.

Any connection other than a UNIX socket or one of the endpoints in $HEARTH_NETWORK_ALLOW ("host:port"
entries, comma-separated: the servers Hearth's backend settings name) is recorded in $HEARTH_NETWORK_LOG
and refused. Loopback is not exempt: with everything local nothing may connect anywhere, and with servers
configured only those servers may be reached, so a test can prove exactly what leaves the machine.
"""

import os
import socket

_LOG = os.environ.get("HEARTH_NETWORK_LOG")
_ALLOWED = {entry.strip() for entry in os.environ.get("HEARTH_NETWORK_ALLOW", "").split(",") if entry.strip()}


def _allowed(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    if not (isinstance(address, tuple) and len(address) >= 2):
        return False
    host, port = str(address[0]).split("%")[0], address[1]
    names = {host, "localhost"} if host in ("127.0.0.1", "::1") else {host}  # a URL may name localhost
    return any(f"{name}:{port}" in _ALLOWED or f"[{name}]:{port}" in _ALLOWED for name in names)


def _guard(original):  # type: ignore[no-untyped-def]
    def connect(self, address):  # type: ignore[no-untyped-def]
        if self.family != socket.AF_UNIX and not _allowed(address):
            if _LOG:
                with open(_LOG, "a", encoding="utf-8") as log:
                    log.write(f"{os.getpid()} connect {address!r}\n")
            raise OSError(f"network guard: connection to {address!r} refused")
        return original(self, address)

    return connect


if _LOG:
    socket.socket.connect = _guard(socket.socket.connect)  # type: ignore[method-assign]
    socket.socket.connect_ex = _guard(socket.socket.connect_ex)  # type: ignore[method-assign]
