import pandas as pd
import pytest

from attrib import schema


def test_empty_events_has_canonical_dtypes():
    df = schema.empty_events()
    assert list(df.columns) == list(schema.EVENT_COLUMNS)
    assert str(df["src_port"].dtype) == "UInt16"
    assert str(df["ts"].dtype) == "datetime64[ns, UTC]"
    assert isinstance(df["proto"].dtype, pd.CategoricalDtype)


def test_conform_adds_nulls_and_casts():
    df = pd.DataFrame({"src_ip": ["1.2.3.4"], "src_port": [443], "ts": [1.5e9], "extra": [1]})
    df["ts"] = pd.to_datetime(df["ts"], unit="s", utc=True)
    out = schema.conform_events(df)
    assert list(out.columns) == list(schema.EVENT_COLUMNS)
    assert out.loc[0, "src_port"] == 443
    assert pd.isna(out.loc[0, "user"])  # missing -> null, never invented
    assert "extra" not in out.columns


def test_conform_rejects_out_of_range_port():
    with pytest.raises((TypeError, ValueError)):
        schema.conform_events(pd.DataFrame({"src_port": [70000]}))


def test_to_ecs_names_and_duration_ns():
    df = pd.DataFrame({"src_ip": ["1.2.3.4"], "duration": pd.array([1.5], dtype="Float64")})
    out = schema.to_ecs(df, schema.ECS_EVENT_FIELDS)
    assert list(out.columns) == ["source.ip", "event.duration"]
    assert out.loc[0, "event.duration"] == 1_500_000_000
