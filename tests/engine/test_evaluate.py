"""``vbg-engine evaluate`` on a tiny hand-made decisions/labels pair with known answers."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from engine.cli import main
from engine.schemas import Decision, decision_id, encode_decision

LABELS = [
    {"session_id": "h1", "label": "human", "family": "desktop", "first_ts": 0.0, "last_ts": 100.0},
    {"session_id": "h2", "label": "human", "family": "vpn", "first_ts": 0.0, "last_ts": 100.0},
    {"session_id": "b1", "label": "bot", "family": "pollers", "first_ts": 0.0, "last_ts": 100.0},
    {"session_id": "b2", "label": "bot", "family": "pollers", "first_ts": 0.0, "last_ts": 100.0},
    {"session_id": "b3", "label": "bot", "family": "proxy", "first_ts": 0.0, "last_ts": 200.0},
]
# (session, ts, action): h2 is suppressed for a minute then cleared; b1 is caught at 40 s;
# b2 never gets a decision; b3 is blocked at 20 s.
DECISIONS = [
    ("h1", 30.0, "count"),
    ("h2", 30.0, "suppress"),
    ("b3", 20.0, "block"),
    ("b1", 30.0, "count"),
    ("b1", 40.0, "suppress"),
    ("h2", 90.0, "count"),
    ("b3", 80.0, "block"),
]


def _write(tmp_path: Path) -> tuple[Path, Path]:
    labels = tmp_path / "labels.jsonl"
    labels.write_text("".join(json.dumps(row) + "\n" for row in LABELS))
    decisions = tmp_path / "decisions.jsonl"
    seq: dict[str, int] = {}
    with decisions.open("wb") as f:
        for sid, ts, action in DECISIONS:
            n = seq[sid] = seq.get(sid, -1) + 1
            d = Decision(
                decision_id=decision_id(sid, n),
                ts=ts,
                decided_at=ts,
                session_id=sid,
                channel_id="c",
                score=0.9 if action != "count" else 0.1,
                action=action,
                reasons=(),
                features={},
                rule_version="t",
            )
            f.write(encode_decision(d) + b"\n")
    return decisions, labels


def test_numbers_match_the_hand_computation(tmp_path: Path, capsys) -> None:
    decisions, labels = _write(tmp_path)
    assert main(["evaluate", "--decisions", str(decisions), "--labels", str(labels), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert (result["true_positives"], result["false_negatives"]) == (2, 1)
    assert (result["false_positives"], result["true_negatives"]) == (0, 2)
    assert result["precision"] == 1.0
    assert result["recall"] == pytest.approx(2 / 3)
    assert result["false_positive_rate"] == 0.0
    assert result["time_to_flag_p50_s"] == pytest.approx(30.0)  # delays 20 and 40
    assert result["time_to_flag_p90_s"] == pytest.approx(38.0)
    # counted bot time: b1 40 of 100, b2 100 of 100, b3 20 of 200
    assert result["bot_time_counted_share"] == pytest.approx(160 / 400)
    # h2 was suppressed from 30 to 90: 60 s of 200 human seconds
    assert result["human_time_flagged_share"] == pytest.approx(60 / 200)
    groups = {(g["label"], g["family"]): g for g in result["groups"]}
    assert (groups[("bot", "pollers")]["sessions"], groups[("bot", "pollers")]["flagged"]) == (2, 1)
    assert groups[("bot", "proxy")]["rate"] == 1.0
    assert groups[("human", "vpn")]["flagged"] == 0
    assert groups[("bot", "pollers")]["by_action"] == {"suppress": 1, "count": 1}


def test_table_output(tmp_path: Path, capsys) -> None:
    decisions, labels = _write(tmp_path)
    assert main(["evaluate", "--decisions", str(decisions), "--labels", str(labels)]) == 0
    out = capsys.readouterr().out
    assert re.search(r"recall +66\.67%", out)
    assert re.search(r"false-positive rate +0\.000%", out)
    assert re.search(r"time to flag p50 +30\.0 s", out)
    assert "pollers" in out and "proxy" in out


def test_unknown_sessions_in_decisions_are_reported(tmp_path: Path, capsys) -> None:
    decisions, labels = _write(tmp_path)
    labels.write_text("".join(json.dumps(row) + "\n" for row in LABELS[:4]))
    assert main(["evaluate", "--decisions", str(decisions), "--labels", str(labels), "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert result["unlabelled_sessions"] == 1
    assert result["bots"] == 2


@pytest.mark.parametrize(
    ("which", "content", "message"),
    [
        ("decisions", '{"not": "a decision"}\n', "decisions"),
        ("labels", "{broken json\n", "labels"),
        ("labels", '{"session_id": "x", "label": "alien"}\n', "labels"),
        ("labels", "", "holds no labels"),
    ],
)
def test_bad_files_give_one_line_errors(tmp_path: Path, capsys, which, content, message) -> None:
    decisions, labels = _write(tmp_path)
    (decisions if which == "decisions" else labels).write_text(content)
    assert main(["evaluate", "--decisions", str(decisions), "--labels", str(labels)]) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1
    assert (message in err and "line" in err) or message == "holds no labels"


def test_missing_file(tmp_path: Path, capsys) -> None:
    _, labels = _write(tmp_path)
    code = main(["evaluate", "--decisions", str(tmp_path / "nope"), "--labels", str(labels)])
    assert code == 1
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "cannot read decisions file" in err
