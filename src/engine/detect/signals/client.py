"""Who is asking: automation and script user agents, user-agent rotation, TLS stack mismatch."""

from __future__ import annotations

from engine.detect.signals.base import Add, Facts
from engine.detect.state import SessionState


def collect(s: SessionState, f: Facts, add: Add) -> None:
    cdn_n = s.cdn_n
    if not cdn_n:
        return
    f.bad_share = s.ua_bad_n / cdn_n
    if f.bad_share >= 0.5:
        # No person watches through HeadlessChrome, curl or python-requests.
        add((1.0, "automation_client" if s.ua_kind == "automation" else "scripted_client"))
    if len(s.user_agents) >= 3:
        # A browser keeps its user agent; iOS players legitimately show two (Safari, CoreMedia).
        add((0.8, "user_agent_rotation"))
    f.mismatch_share = s.ja4_mismatch_n / cdn_n
    if f.mismatch_share >= 0.5:
        # A library TLS stack under a browser user agent; TLS-inspecting office proxies do this
        # to real people too, so medium.
        add((0.45, "tls_ua_mismatch"))
