"""Free loopback ports and readiness probes."""

from __future__ import annotations

import socket
import struct
import time
from collections.abc import Callable


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return sock.getsockname()[1]


def kafka_api_versions_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    """True when a Kafka broker answers an ApiVersions (v0) request on host:port."""
    client_id = b"vbg-probe"
    body = struct.pack(">hhih", 18, 0, 1, len(client_id)) + client_id
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(struct.pack(">i", len(body)) + body)
            header = _recv_exact(sock, 4)
            (size,) = struct.unpack(">i", header)
            payload = _recv_exact(sock, size)
    except OSError:
        return False
    if len(payload) < 6:
        return False
    correlation_id, error_code = struct.unpack(">ih", payload[:6])
    return correlation_id == 1 and error_code == 0


def redis_ping_ok(host: str, port: int, timeout: float = 1.0) -> bool:
    try:
        with socket.create_connection((host, port), timeout=timeout) as sock:
            sock.sendall(b"PING\r\n")
            return sock.recv(64).startswith(b"+PONG")
    except OSError:
        return False


def _recv_exact(sock: socket.socket, size: int) -> bytes:
    chunks = []
    while size > 0:
        chunk = sock.recv(size)
        if not chunk:
            raise OSError("connection closed")
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def wait_until(probe: Callable[[], bool], timeout: float, interval: float = 0.1) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if probe():
            return True
        time.sleep(interval)
    return probe()
