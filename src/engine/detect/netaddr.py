"""Canonical IP and network strings, cached: the same forms the override API stores."""

from __future__ import annotations

import ipaddress
from functools import lru_cache


@lru_cache(maxsize=65536)
def canonical_ip(ip: str) -> str:
    """``str(ip_address(ip))`` for IPv6 (compressed form); IPv4 strings are already canonical."""
    if ":" not in ip:
        return ip
    try:
        return str(ipaddress.ip_address(ip))
    except ValueError:
        return ip


@lru_cache(maxsize=65536)
def subnet_of(ip: str) -> str:
    """The /24 of an IPv4 address or the /48 of an IPv6 address, as an override value."""
    if ":" not in ip:
        head, _, _ = ip.rpartition(".")
        return f"{head}.0/24"
    try:
        return str(ipaddress.ip_network(f"{ip}/48", strict=False))
    except ValueError:
        return ip


@lru_cache(maxsize=65536)
def wide_net_of(ip: str) -> str:
    """The /16 (IPv4) or /32 (IPv6): how far apart two addresses of one session are."""
    if ":" not in ip:
        parts = ip.split(".", 2)
        return f"{parts[0]}.{parts[1]}"
    try:
        return str(ipaddress.ip_network(f"{ip}/32", strict=False))
    except ValueError:
        return ip
