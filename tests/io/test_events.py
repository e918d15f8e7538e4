"""attrib's own events tables (``attrib read --out``) read back as input."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from _zeek_data import CONN_FIELDS, CONN_TYPES, conn_row, zeek_tsv

from attrib._atomic import write_table
from attrib.errors import UnknownFormatError
from attrib.io import ReadReport, read
from attrib.io.events import sniff


@pytest.fixture
def events(tmp_path: Path) -> pd.DataFrame:
    p = tmp_path / "conn.log"
    rows = [conn_row(i) for i in range(50)] + [conn_row(50, **{"id.orig_h": "2001:db8::7"})]
    p.write_bytes(zeek_tsv(CONN_FIELDS, CONN_TYPES, rows))
    return read(p)


@pytest.mark.parametrize("ext", [".parquet", ".csv"])
def test_read_output_reads_back_identically(tmp_path: Path, events: pd.DataFrame, ext: str) -> None:
    out = write_table(events, tmp_path / f"events{ext}")
    assert sniff(out.read_bytes()[:4096]) == "events"
    rep = ReadReport()
    back = read(out, report=rep)
    assert rep.files[0].format == "events" and rep.files[0].rows == len(events)
    assert not rep.files[0].nulled and not rep.files[0].skipped
    pd.testing.assert_frame_equal(back, events)


def test_events_csv_bad_values_are_nulled_and_counted(tmp_path: Path, events: pd.DataFrame) -> None:
    out = write_table(events.head(3), tmp_path / "events.csv")
    text = out.read_text().splitlines()
    cols = text[0].split(",")
    row = text[1].split(",")
    row[cols.index("src_port")] = "99999"
    row[cols.index("proto")] = "carrier-pigeon"
    out.write_text("\n".join([text[0], ",".join(row), *text[2:]]) + "\n")
    rep = ReadReport()
    back = read(out, report=rep)
    assert len(back) == 3 and pd.isna(back["src_port"].iloc[0]) and pd.isna(back["proto"].iloc[0])
    assert dict(rep.files[0].nulled) == {"invalid src_port": 1, "invalid proto": 1}


def test_other_parquet_is_refused_by_name(tmp_path: Path) -> None:
    p = tmp_path / "campaigns.parquet"
    pd.DataFrame({"ip": ["192.0.2.1"], "campaign": ["x"]}).to_parquet(p)
    with pytest.raises(UnknownFormatError, match="not an attrib events table"):
        read(p)
    rep = ReadReport()
    read(tmp_path, report=rep)  # in a folder: skipped, named, not fatal
    assert [Path(f).name for f, _ in rep.failed] == ["campaigns.parquet"]


def test_sniff() -> None:
    assert sniff(b"PAR1\x15\x04") == "events"
    assert sniff(b"ts,src_ip,src_port,dst_ip,source\n") == "events"
    assert sniff(b"ts,src_ip,dst_ip,bytes\n") is None  # not only canonical names
    assert sniff(b"ts,te,td,sa,da,sp,dp,pr\n") is None
