"""Score a decisions file against labels (DESIGN §4 ``vbg-engine evaluate``).

Per session the *final* action counts (the last decision by event time, file order breaking
ties); a session without decisions counts as ``count``. A session is flagged when its final
action is anything but ``count``. Labels are ``{"session_id", "label": "human"|"bot", "family",
"first_ts", "last_ts"}``; for humans ``family`` names the population.

Timing figures use event time:
- time to flag: from the label's ``first_ts`` to the session's first non-``count`` decision,
  for bots whose final action is flagged (percentiles by linear interpolation);
- bot time counted: over all bots, the share of ``[first_ts, last_ts]`` during which the
  session's current action was ``count`` (before its first decision it counts by default).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass, field
from typing import Literal

import msgspec

from engine.schemas import decode_decision


class EvaluationError(ValueError):
    """A labels or decisions file cannot be read; the message is one line for the operator."""


class Label(msgspec.Struct):
    session_id: str
    label: Literal["human", "bot"]
    family: str = ""
    first_ts: float = 0.0
    last_ts: float = 0.0


_LABEL = msgspec.json.Decoder(Label)


@dataclass
class GroupStats:
    label: str
    family: str
    sessions: int = 0
    flagged: int = 0
    by_action: dict[str, int] = field(default_factory=dict)

    @property
    def rate(self) -> float:
        return self.flagged / self.sessions if self.sessions else 0.0


@dataclass
class Evaluation:
    sessions: int
    humans: int
    bots: int
    true_positives: int
    false_positives: int
    false_negatives: int
    true_negatives: int
    precision: float
    recall: float
    false_positive_rate: float
    time_to_flag_p50_s: float | None
    time_to_flag_p90_s: float | None
    bot_time_counted_share: float
    human_time_flagged_share: float
    decisions: int
    unlabelled_sessions: int
    groups: list[GroupStats]

    def to_dict(self) -> dict:
        data = asdict(self)
        for group, raw in zip(self.groups, data["groups"], strict=True):
            raw["rate"] = round(group.rate, 6)
        return data


def read_labels(lines: Iterable[bytes], name: str = "labels") -> dict[str, Label]:
    labels: dict[str, Label] = {}
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            label = _LABEL.decode(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise EvaluationError(f"{name} line {lineno}: {exc}") from None
        labels[label.session_id] = label
    if not labels:
        raise EvaluationError(f"{name} holds no labels")
    return labels


@dataclass
class _Timeline:
    """A session's decisions reduced to what the metrics need."""

    last_ts: float = float("-inf")
    final: str = "count"
    first_flag_ts: float | None = None
    changes: list[tuple[float, str]] = field(default_factory=list)


def read_decisions(lines: Iterable[bytes], name: str = "decisions") -> tuple[dict, int]:
    timelines: dict[str, _Timeline] = {}
    count = 0
    for lineno, line in enumerate(lines, 1):
        if not line.strip():
            continue
        try:
            d = decode_decision(line)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise EvaluationError(f"{name} line {lineno}: {exc}") from None
        count += 1
        t = timelines.get(d.session_id)
        if t is None:
            t = timelines[d.session_id] = _Timeline()
        t.changes.append((d.ts, d.action))
        if d.ts >= t.last_ts:
            t.last_ts = d.ts
            t.final = d.action
    for t in timelines.values():
        t.changes.sort(key=lambda change: change[0])  # stable: file order breaks ties
        flags = [ts for ts, action in t.changes if action != "count"]
        t.first_flag_ts = flags[0] if flags else None
    return timelines, count


def _percentile(values: list[float], q: float) -> float | None:
    if not values:
        return None
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q
    lo = int(pos)
    hi = min(lo + 1, len(ordered) - 1)
    return ordered[lo] + (ordered[hi] - ordered[lo]) * (pos - lo)


def _time_in(t: _Timeline | None, label: Label, counted: bool) -> float:
    """Seconds of ``[first_ts, last_ts]`` whose current action was (not) ``count``."""
    start, end = label.first_ts, label.last_ts
    if end <= start:
        return 0.0
    action, cursor, total = "count", start, 0.0
    for ts, new_action in t.changes if t else ():
        if ts > cursor:
            upto = min(ts, end)
            if (action == "count") == counted and upto > cursor:
                total += upto - cursor
            cursor = max(cursor, upto)
        action = new_action
        if cursor >= end:
            break
    if cursor < end and (action == "count") == counted:
        total += end - cursor
    return total


def evaluate(
    labels: dict[str, Label], timelines: dict[str, _Timeline], decisions: int
) -> Evaluation:
    groups: dict[tuple[str, str], GroupStats] = {}
    tp = fp = fn = tn = 0
    delays: list[float] = []
    bot_total = bot_counted = human_total = human_flagged = 0.0
    for sid, label in labels.items():
        t = timelines.get(sid)
        final = t.final if t else "count"
        flagged = final != "count"
        key = (label.label, label.family)
        group = groups.get(key)
        if group is None:
            group = groups[key] = GroupStats(label.label, label.family)
        group.sessions += 1
        group.flagged += flagged
        group.by_action[final] = group.by_action.get(final, 0) + 1
        duration = max(label.last_ts - label.first_ts, 0.0)
        if label.label == "bot":
            if flagged:
                tp += 1
                if t is not None and t.first_flag_ts is not None:
                    delays.append(max(t.first_flag_ts - label.first_ts, 0.0))
            else:
                fn += 1
            bot_total += duration
            bot_counted += _time_in(t, label, counted=True)
        else:
            if flagged:
                fp += 1
            else:
                tn += 1
            human_total += duration
            human_flagged += _time_in(t, label, counted=False)
    humans, bots = fp + tn, tp + fn
    return Evaluation(
        sessions=len(labels),
        humans=humans,
        bots=bots,
        true_positives=tp,
        false_positives=fp,
        false_negatives=fn,
        true_negatives=tn,
        precision=tp / (tp + fp) if tp + fp else 0.0,
        recall=tp / bots if bots else 0.0,
        false_positive_rate=fp / humans if humans else 0.0,
        time_to_flag_p50_s=_percentile(delays, 0.5),
        time_to_flag_p90_s=_percentile(delays, 0.9),
        bot_time_counted_share=bot_counted / bot_total if bot_total else 0.0,
        human_time_flagged_share=human_flagged / human_total if human_total else 0.0,
        decisions=decisions,
        unlabelled_sessions=sum(1 for sid in timelines if sid not in labels),
        groups=sorted(groups.values(), key=lambda g: (g.label, g.family)),
    )


def _fmt_s(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.1f} s"


def render_table(result: Evaluation) -> str:
    lines = [
        f"sessions {result.sessions:,} (humans {result.humans:,}, bots {result.bots:,}); "
        f"decisions {result.decisions:,}"
        + (
            f"; {result.unlabelled_sessions:,} unlabelled sessions"
            if result.unlabelled_sessions
            else ""
        ),
        "",
        f"  precision            {result.precision:8.2%}",
        f"  recall               {result.recall:8.2%}",
        f"  false-positive rate  {result.false_positive_rate:8.3%}",
        f"  time to flag p50     {_fmt_s(result.time_to_flag_p50_s):>8}",
        f"  time to flag p90     {_fmt_s(result.time_to_flag_p90_s):>8}",
        f"  bot time counted     {result.bot_time_counted_share:8.2%}",
        f"  human time flagged   {result.human_time_flagged_share:8.3%}",
        f"  confusion            TP {result.true_positives}  FP {result.false_positives}  "
        f"FN {result.false_negatives}  TN {result.true_negatives}",
        "",
        f"  {'label':<6} {'family / population':<28} {'sessions':>8} {'flagged':>8} {'rate':>8}"
        f"  {'count':>6} {'suppr':>6} {'chall':>6} {'block':>6}",
    ]
    for g in result.groups:
        what = "recall" if g.label == "bot" else "FPR"
        lines.append(
            f"  {g.label:<6} {g.family or '-':<28} {g.sessions:>8} {g.flagged:>8} "
            f"{g.rate:>8.2%}  "
            + " ".join(
                f"{g.by_action.get(a, 0):>6}" for a in ("count", "suppress", "challenge", "block")
            )
            + f"  ({what})"
        )
    return "\n".join(lines)
