import subprocess
import sys

import pandas as pd
import pyarrow as pa
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


def test_enrich_chunked_arrow_column():
    # a read of several files/batches gives a chunked Arrow column (issue #19)
    chunks = pa.chunked_array([["8.8.8.8", "1.1.1.1"], ["8.8.8.8", None, "bad"]])
    df = pd.DataFrame({"src_ip": pd.arrays.ArrowStringArray(chunks)}, index=[5, 6, 7, 8, 9])
    out = df.attrib.enrich(column="src_ip")
    assert list(out.index) == [5, 6, 7, 8, 9]
    assert list(out["asn"].iloc[:3]) == [15169, 13335, 15169]
    assert pd.isna(out.loc[8, "asn"]) and pd.notna(out.loc[9, "ip_error"])


def _run(code: str) -> str:
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.strip()


def test_bare_import_registers_accessor_either_order():
    probe = "print(type(pd.DataFrame({'ip': ['8.8.8.8']}).attrib).__name__)"
    assert _run("import attrib; import pandas as pd; " + probe) == "AttribAccessor"
    assert _run("import pandas as pd; import attrib; " + probe) == "AttribAccessor"


def test_bare_import_stays_light():
    # registering the accessor must not pull pandas into ``import attrib``
    assert _run("import sys, attrib; print('pandas' in sys.modules)") == "False"
