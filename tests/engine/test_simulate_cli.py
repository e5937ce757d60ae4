"""``vbg-engine simulate`` on the command line: determinism, file formats, options and errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from engine.cli import main
from engine.simulate.writer import Progress

SMALL = ["--duration", "150", "--viewers", "40", "--channels", "3", "--quiet"]


def run(argv: list[str]) -> int:
    try:
        return main(["simulate", *argv])
    except SystemExit as exc:  # argparse errors
        return int(exc.code)


def generate(tmp_path: Path, name: str, *extra: str) -> tuple[bytes, bytes]:
    out, labels = tmp_path / f"{name}.jsonl", tmp_path / f"{name}.labels.jsonl"
    assert run([*SMALL, *extra, "--out", str(out), "--labels", str(labels)]) == 0
    return out.read_bytes(), labels.read_bytes()


def test_same_seed_gives_the_same_bytes_and_another_seed_does_not(tmp_path: Path) -> None:
    a = generate(tmp_path, "a", "--seed", "3")
    b = generate(tmp_path, "b", "--seed", "3")
    c = generate(tmp_path, "c", "--seed", "4")
    assert a == b
    assert a[0] != c[0] and a[1] != c[1]
    assert len(a[0].splitlines()) > 5_000


def test_output_does_not_depend_on_the_interpreter_hash_seed(tmp_path: Path) -> None:
    expected = generate(tmp_path, "in-process", "--seed", "5")
    for hash_seed in ("1", "2"):
        out = tmp_path / f"h{hash_seed}.jsonl"
        labels = tmp_path / f"h{hash_seed}.labels.jsonl"
        argv = [sys.executable, "-m", "engine.cli", "simulate", *SMALL, "--seed", "5"]
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        subprocess.run([*argv, "--out", str(out), "--labels", str(labels)], env=env, check=True)
        assert (out.read_bytes(), labels.read_bytes()) == expected


def test_envelopes_and_labels_have_the_documented_shape(tmp_path: Path) -> None:
    events, labels = generate(tmp_path, "shape")
    topics = set()
    for line in events.splitlines():
        env = json.loads(line)
        assert list(env) == ["topic", "value"]
        topics.add(env["topic"])
    assert (
        {"cdn-logs", "player-events"}
        <= topics
        <= {"cdn-logs", "player-events", "chat-events", "challenge-results"}
    )
    for line in labels.splitlines():
        assert list(json.loads(line)) == ["session_id", "label", "family", "first_ts", "last_ts"]


def test_max_events_stops_exactly_and_labels_still_cover_every_session(tmp_path: Path) -> None:
    events, labels = generate(tmp_path, "max", "--max-events", "777")
    lines = events.splitlines()
    assert len(lines) == 777
    in_events = {json.loads(line)["value"]["session_id"] for line in lines}
    assert {json.loads(line)["session_id"] for line in labels.splitlines()} == in_events


def test_no_attacks_means_humans_only_and_families_can_be_chosen(tmp_path: Path) -> None:
    _, labels = generate(tmp_path, "calm", "--no-attacks")
    assert {json.loads(line)["label"] for line in labels.splitlines()} == {"human"}
    _, labels = generate(tmp_path, "pollers", "--families", "playlist_poller", "--attack-at", "20")
    bots = [lab for line in labels.splitlines() if (lab := json.loads(line))["label"] == "bot"]
    assert bots and {b["family"] for b in bots} == {"playlist_poller"}
    assert min(b["first_ts"] for b in bots) >= 1_717_243_200 + 20


def test_start_ts_moves_event_time(tmp_path: Path) -> None:
    events, _ = generate(tmp_path, "later", "--start-ts", "1800000000", "--max-events", "50")
    first = json.loads(events.splitlines()[0])["value"]["ts"]
    assert 1_800_000_000 <= first < 1_800_000_150


def test_stdout_output_and_summary_line(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    assert (
        main(["simulate", "--duration", "60", "--viewers", "10", "--channels", "2", "--out", "-"])
        == 0
    )
    captured = capsysbinary.readouterr()
    lines = captured.out.splitlines()
    assert lines and all(json.loads(line)["topic"] for line in lines)
    summary = captured.err.decode().strip().splitlines()[-1]
    assert summary.startswith(f"simulate: wrote {len(lines):,} events")


def test_rate_paced_output_is_the_same_traffic(tmp_path: Path) -> None:
    fast = generate(tmp_path, "fast", "--max-events", "3000")
    paced = generate(tmp_path, "paced", "--max-events", "3000", "--rate", "200000")
    assert fast == paced


def test_progress_reports_events_share_of_event_time_and_rate(
    capsys: pytest.CaptureFixture[str],
) -> None:
    progress = Progress(start_ts=1000.0, duration=200.0, enabled=True, every=0.0)
    progress.update(12_345, 1050.0)
    err = capsys.readouterr().err
    assert "12,345 events" in err and "25.0% of event time" in err and "events/s" in err


@pytest.mark.parametrize(
    "argv",
    [
        ["--duration", "-5", "--out", "x"],
        ["--duration", "abc", "--out", "x"],
        ["--channels", "0", "--out", "x"],
        ["--attack-share", "1.5", "--out", "x"],
        ["--families", "poller,nope", "--out", "x"],
        ["--rate", "-1", "--out", "x"],
        ["--start-ts", "yesterday", "--out", "x"],
        ["--bootstrap", "nohostport", "--kafka"],
        [],  # nothing to write
        ["--out", "same.jsonl", "--labels", "same.jsonl"],
    ],
)
def test_bad_arguments_exit_2(
    argv: list[str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert run(argv) == 2
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("which", ["--out", "--labels"])
def test_unwritable_output_is_a_one_line_error(
    which: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = str(tmp_path / "ok.jsonl")
    bad = str(tmp_path / "missing-dir" / "x.jsonl")
    argv = (
        ["--out", bad, "--labels", good] if which == "--out" else ["--out", good, "--labels", bad]
    )
    assert run([*SMALL, *argv]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert err.startswith("vbg-engine simulate: cannot write") and "missing-dir" in err
    assert "Traceback" not in err


def test_unreachable_kafka_is_a_one_line_error(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--duration", "30", "--viewers", "5", "--channels", "1", "--quiet"]
    assert run([*argv, "--kafka", "--bootstrap", "127.0.0.1:1"]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Kafka at 127.0.0.1:1" in err
