import pandas as pd
import pytest

import attrib.accessor  # noqa: F401  (registers DataFrame.attrib)
from attrib.errors import ConfigError


def test_enrich_keeps_rows_and_index():
    df = pd.DataFrame(
        {"src_ip": ["8.8.8.8", "not-an-ip", None, "192.168.1.1"], "n": [1, 2, 3, 4]},
        index=[10, 20, 30, 40],
    )
    out = df.attrib.enrich()
    assert list(out.index) == [10, 20, 30, 40] and list(out["n"]) == [1, 2, 3, 4]
    assert out.loc[10, "asn"] == 15169 and out.loc[10, "country"] == "US"
    assert pd.notna(out.loc[20, "ip_error"]) and pd.isna(out.loc[20, "asn"])
    assert "private" in str(out.loc[40, "tags"])
    assert "asn" not in df.columns  # a new frame; the input is untouched


def test_enrich_named_column_and_prefix():
    df = pd.DataFrame({"client": ["1.1.1.1"], "ip": ["8.8.8.8"]})
    out = df.attrib.enrich(column="client", prefix="client_")
    assert out.loc[0, "client_asn"] == 13335 and "asn" not in out.columns


def test_errors_are_clear():
    with pytest.raises(ConfigError, match="no address column"):
        pd.DataFrame({"x": [1]}).attrib.enrich()
    with pytest.raises(ConfigError, match="no column 'nope'"):
        pd.DataFrame({"ip": ["8.8.8.8"]}).attrib.enrich(column="nope")
    with pytest.raises(ConfigError, match="not an events table"):
        pd.DataFrame({"ip": ["8.8.8.8"]}).attrib.analyze()


def test_to_ecs():
    out = pd.DataFrame({"src_ip": ["8.8.8.8"], "dst_port": [443]}).attrib.to_ecs()
    assert list(out.columns) == ["source.ip", "destination.port"]
