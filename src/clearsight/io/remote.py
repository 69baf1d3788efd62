"""The allow-list check for everything a remote API user can point the service at.

Pure functions over the `RemoteAccess` settings: the camera hub calls `check_camera_source`
before a camera is saved or started, the sinks call `check_event_target` before they
connect. Refusals never say whether a path exists or a port is open: the message names
the rule, not what was found.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

from ..errors import InputError
from ..settings import AllowRule


class RemoteNotAllowedError(InputError):
    code = "source_not_allowed"
    http_status = 403


Address = ipaddress.IPv4Address | ipaddress.IPv6Address


def _addresses(host: str, port: int) -> list[Address]:
    """Every address `host` resolves to: a name that resolves to one allowed and one
    forbidden address is refused (the connection could take either)."""
    try:
        return [ipaddress.ip_address(host.strip("[]"))]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, port, proto=socket.IPPROTO_TCP)
    except (OSError, UnicodeError):
        return []
    out: list[Address] = []
    for info in infos:
        addr = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped:
            addr = addr.ipv4_mapped
        out.append(addr)
    return out


def _in_any(addr: Address, networks: Sequence[str]) -> bool:
    nets = (ipaddress.ip_network(n, strict=False) for n in networks)
    return any(net.version == addr.version and addr in net for net in nets)


def rule_allows(rule: AllowRule, scheme: str, addresses: Sequence[Address], port: int) -> bool:
    if scheme not in {s.lower() for s in rule.schemes}:
        return False
    if rule.ports is not None and port not in rule.ports:
        return False
    return bool(addresses) and all(_in_any(a, rule.networks) and not _in_any(a, rule.exclude) for a in addresses)


_DEFAULT_PORTS = {"rtsp": 554, "rtsps": 322, "http": 80, "https": 443, "mqtt": 1883, "mqtts": 8883}


def check_url(url: str, rules: Sequence[AllowRule], what: str) -> None:
    """Refuse `url` unless one rule allows its scheme, host and port."""
    try:
        parts = urlsplit(url)
        scheme = parts.scheme.lower()
        host = parts.hostname or ""
        port = parts.port or _DEFAULT_PORTS.get(scheme, 0)
    except ValueError:
        raise RemoteNotAllowedError(f"{what}: not a valid URL") from None
    if not scheme or not host:
        raise RemoteNotAllowedError(f"{what}: not a valid URL")
    if not any(rule_allows(r, scheme, _addresses(host, port), port) for r in rules):
        raise RemoteNotAllowedError(
            f"{what}: {scheme}://{host}:{port} is not in the service's allow-list (server.remote settings)")


def check_local_path(path: str | Path, roots: Sequence[Path], what: str) -> Path:
    """The resolved path when it lies under one of `roots`; the same refusal whether or
    not it exists, so the API cannot be used to probe the filesystem."""
    try:
        p = Path(path).expanduser()
        resolved = (p if p.is_absolute() else (roots[0] / p if roots else p)).resolve()
        for root in roots:
            if resolved == root or root in resolved.parents:
                if resolved.exists():
                    return resolved
                break
    except (OSError, ValueError, RuntimeError):  # a name too long, a NUL byte, an unknown ~user: none exists
        pass
    raise RemoteNotAllowedError(f"{what}: local sources must be files or folders under the media roots")
