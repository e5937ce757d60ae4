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
