"""Worker settings from the environment: defaults, and a one-line reason for bad values."""

from __future__ import annotations

import pytest

from engine.config import ConfigError
from engine.runtime.settings import load_runtime_settings


def test_clickhouse_sink_defaults() -> None:
    rt = load_runtime_settings({})
    assert (rt.clickhouse_batch, rt.clickhouse_within_s, rt.clickhouse_idle_s) == (2000, 1.0, 0.2)


def test_clickhouse_sink_settings_are_read() -> None:
    rt = load_runtime_settings(
        {"VBG_CH_BATCH": "500", "VBG_CH_WITHIN_S": "3", "VBG_CH_IDLE_S": "0.05"}
    )
    assert (rt.clickhouse_batch, rt.clickhouse_within_s, rt.clickhouse_idle_s) == (500, 3.0, 0.05)


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("VBG_CH_IDLE_S", "soon", "VBG_CH_IDLE_S='soon' is not a number"),
        ("VBG_CH_IDLE_S", "0", "VBG_CH_IDLE_S=0.0 is out of range"),
        ("VBG_CH_IDLE_S", "nan", "VBG_CH_IDLE_S=nan is out of range"),
        ("VBG_CH_WITHIN_S", "-1", "VBG_CH_WITHIN_S=-1.0 is out of range"),
        ("VBG_CH_BATCH", "1.5", "VBG_CH_BATCH='1.5' is not an integer"),
    ],
)
def test_bad_values_name_the_variable(name: str, value: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as info:
        load_runtime_settings({name: value})
    assert "\n" not in str(info.value)


def test_worker_role_defaults_to_all_and_keeps_the_group() -> None:
    rt = load_runtime_settings({"VBG_APP_ID": "vg"})
    assert (rt.role, rt.group_id) == ("all", "vg")
    assert load_runtime_settings({"VBG_APP_ID": "vg", "VBG_WORKER_ROLE": "decide"}).group_id == "vg"


def test_ingest_role_has_a_group_of_its_own_and_shares_the_internal_topics() -> None:
    rt = load_runtime_settings({"VBG_APP_ID": "vg", "VBG_WORKER_ROLE": " Ingest "})
    assert (rt.role, rt.group_id) == ("ingest", "vg-ingest")
    assert rt.internal("channel-events") == "vg-channel-events"


def test_bad_worker_role_names_the_choices() -> None:
    with pytest.raises(
        ConfigError, match="VBG_WORKER_ROLE='both' must be one of all, ingest, decide"
    ):
        load_runtime_settings({"VBG_WORKER_ROLE": "both"})
