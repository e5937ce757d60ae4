"""``vbg-engine replay``: decisions out, malformed lines counted and located, same bytes twice."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import msgspec

sys.path.insert(0, str(Path(__file__).parent / "detect"))
from detect_builders import HEADLESS_UA, Viewer, merge

from engine.cli import main
from engine.detect import Policy
from engine.offline import replay as replay_module
from engine.schemas import decode_decision

_ENC = msgspec.json.Encoder()


def envelope(event) -> bytes:
    return _ENC.encode({"topic": event.TOPIC, "value": event}) + b"\n"


def good_lines() -> list[bytes]:
    viewers = [
        Viewer("human-1", duration=200.0),
        Viewer("bot-1", ua=HEADLESS_UA, segments=False, duration=200.0),
    ]
    return [envelope(e) for e in merge(*viewers)]


BAD = {
    "not_json": b"{this is not json\n",
    "unknown_topic": b'{"topic": "weather", "value": {"event_id": "x"}}\n',
    "schema": b'{"topic": "cdn-logs", "value": {"event_id": "x", "ts": 1.0}}\n',
    "no_value": b'{"topic": "cdn-logs"}\n',
    "wrong_type": b'{"topic": "chat-events", "value": {"event_id": "x", "ts": "soon"}}\n',
}


def _replay(tmp_path: Path, lines: list[bytes], name: str = "out.jsonl") -> tuple[int, Path]:
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"".join(lines))
    out = tmp_path / name
    return main(["replay", "--input", str(src), "--output", str(out)]), out


def test_clean_file_decides_and_reports_rate(tmp_path: Path, capsys) -> None:
    code, out = _replay(tmp_path, good_lines())
    assert code == 0
    decisions = [decode_decision(line) for line in out.read_bytes().splitlines()]
    final = {d.session_id: d for d in decisions}
    assert final["human-1"].action == "count"
    assert final["bot-1"].action != "count"
    assert all(d.decided_at == d.ts for d in decisions)
    err = capsys.readouterr().err
    assert "events/s" in err and "malformed" not in err


def test_output_is_byte_identical_across_runs(tmp_path: Path) -> None:
    lines = good_lines()
    _, first = _replay(tmp_path, lines, "a.jsonl")
    _, second = _replay(tmp_path, lines, "b.jsonl")
    assert first.read_bytes() == second.read_bytes()
    assert len(first.read_bytes()) > 0


def test_malformed_lines_are_counted_located_and_skipped(tmp_path: Path, capsys) -> None:
    lines = good_lines()
    bad_at = {}
    for i, (code, raw) in enumerate(BAD.items()):
        position = 10 + i * 7
        lines.insert(position, raw)
        bad_at[position + 1] = code  # line numbers are 1-based
    lines.insert(3, b"\n")  # blank lines are skipped, not malformed
    bad_at = {(n + 1 if n > 3 else n): code for n, code in bad_at.items()}
    code, out = _replay(tmp_path, lines)
    assert code == 3
    err = capsys.readouterr().err
    for lineno in bad_at:
        assert f"line {lineno}:" in err
    assert "line 4:" not in err
    assert f"{len(BAD)} malformed line(s) skipped" in err
    assert "unknown_topic 1" in err and "envelope" in err and "schema" in err
    clean_code, clean_out = _replay(tmp_path, good_lines(), "clean.jsonl")
    assert clean_code == 0
    assert out.read_bytes() == clean_out.read_bytes()  # the good lines still count in full


def test_listing_is_capped_but_everything_is_counted(tmp_path: Path, capsys) -> None:
    lines = good_lines()[:5] + [b"nonsense\n"] * 30
    code, _ = _replay(tmp_path, lines)
    assert code == 3
    err = capsys.readouterr().err
    assert err.count("replay: line ") == replay_module.MAX_LISTED_ERRORS
    assert "30 malformed line(s) skipped" in err
    assert "counted, not listed" in err


def test_missing_input_is_one_line_exit_1(tmp_path: Path, capsys) -> None:
    code = main(
        ["replay", "--input", str(tmp_path / "none.jsonl"), "--output", str(tmp_path / "o")]
    )
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "cannot read input" in err


def test_unwritable_output_is_one_line_exit_1(tmp_path: Path, capsys) -> None:
    src = tmp_path / "events.jsonl"
    src.write_bytes(b"".join(good_lines()))
    code = main(["replay", "--input", str(src), "--output", str(tmp_path / "no" / "dir" / "o")])
    assert code == 1
    assert "cannot write output" in capsys.readouterr().err


def test_progress_is_reported_on_long_runs(monkeypatch) -> None:
    monkeypatch.setattr(replay_module, "PROGRESS_EVERY_S", 0.0)
    monkeypatch.setattr(replay_module, "_CHECK_EVERY_LINES", 50)
    seen = []
    lines = good_lines()
    stats = replay_module.replay_stream(
        io.BytesIO(b"".join(lines)),
        io.BytesIO(),
        Policy(),
        on_progress=lambda s: seen.append(s.lines),
    )
    assert stats.events == len(lines)
    assert seen and seen[0] == 50 and seen == sorted(seen)


def test_envelope_values_are_validated_like_kafka_messages(tmp_path: Path, capsys) -> None:
    value = json.loads(good_lines()[0])["value"]
    value["client_ip"] = "999.1.1.1"
    code, _ = _replay(
        tmp_path, [json.dumps({"topic": "cdn-logs", "value": value}).encode() + b"\n"]
    )
    assert code == 3
    assert "line 1: schema: " in capsys.readouterr().err
