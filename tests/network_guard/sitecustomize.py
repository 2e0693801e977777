"""Loaded by every Python process of a guarded test run (PYTHONPATH), children included.

Any attempt to connect to an address that is not loopback or a UNIX socket is recorded in
$HEARTH_NETWORK_LOG and refused, so a test can prove the whole workflow stays on the machine.
"""

import ipaddress
import os
import socket

_LOG = os.environ.get("HEARTH_NETWORK_LOG")


def _allowed(address: object) -> bool:
    if isinstance(address, (str, bytes)):  # AF_UNIX path
        return True
    host = address[0] if isinstance(address, tuple) and address else address
    try:
        return ipaddress.ip_address(str(host).split("%")[0]).is_loopback
    except ValueError:
        return str(host) == "localhost"


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
