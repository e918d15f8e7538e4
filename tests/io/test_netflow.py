"""Flow readers: nfdump CSV (real sample and trailer), mapped Argus/goflow2 exports, mappings."""

from __future__ import annotations

import ipaddress
from pathlib import Path

import pandas as pd
import pytest
from _zeek_data import DATA, NFDUMP, REPO, data_lines
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from attrib.errors import ConfigError, FormatError, UnknownFormatError
from attrib.io import ReadReport, iter_read, read
from attrib.io._flow_mapping import load_mapping, mapping_from_dict
from attrib.io.netflow import sniff

FLOW = DATA / "flow"
MAPPINGS = REPO / "data" / "mappings"
SAMPLE = NFDUMP / "chrispassas_nfcapd.sample.nfdump.csv"


def _read(path: Path, fmt: str | None = None, **opts: object) -> tuple[pd.DataFrame, ReadReport]:
    rep = ReadReport()
    return read(path, fmt, report=rep, options=dict(opts)), rep


def test_nfdump_sample_reads_every_row_exactly() -> None:
    df, rep = _read(SAMPLE)
    st_ = rep.files[0]
    assert st_.format == "nfdump" and st_.rows == data_lines(SAMPLE) - 1 and not st_.skipped
    r = df.iloc[0]
    assert r.ts == pd.Timestamp("2023-01-25 18:35:43", tz="UTC")
    assert (r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.proto) == (
        "52.5.7.161", 443, "170.80.156.33", 57358, "tcp",
    )  # fmt: skip
    assert (r.pkts_out, r.ip_bytes_out) == (9, 930)
    assert pd.isna(r.pkts_in) and pd.isna(r.ip_bytes_in)  # unidirectional export: not carried
    assert pd.isna(r.duration)  # td 18446744073709540.000 is a counter wrap
    assert r.sensor == "170.80.156.33" and r.source == "nfdump" and pd.isna(r.bytes_out)
    assert st_.nulled["invalid duration"] == int(df["duration"].isna().sum())
    v6 = df[df["proto"].eq("icmp") & df["src_ip"].str.contains(":")]
    assert len(v6) and (v6["src_port"] == 0).all()


def test_nfdump_summary_trailer_and_bidirectional_counters() -> None:
    df, rep = _read(FLOW / "nfdump-summary.csv")
    assert rep.files[0].rows == 3 and rep.files[0].skipped_total == 0
    assert list(df["pkts_in"].astype(object)) == [12, pd.NA, pd.NA]
    assert df["ip_bytes_in"].iloc[0] == 1820 and df["duration"].iloc[0] == 3.12
    assert df["dst_port"].iloc[2] == 771  # nfdump encodes ICMP type 3 code 3 as 3*256+3


def test_argus_mapping() -> None:
    df, rep = _read(FLOW / "argus.csv", "flow", flow_mapping=str(MAPPINGS / "argus-csv.toml"))
    assert rep.files[0].rows == 4 and not rep.files[0].skipped and not rep.files[0].nulled
    r = df.iloc[0]
    assert r.ts == pd.Timestamp("2023-11-14 22:13:20.123456", tz="UTC") and r.duration == 2.5
    assert (r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.proto) == (
        "203.0.113.9", 51514, "198.51.100.20", 443, "tcp",
    )  # fmt: skip
    assert (r.pkts_out, r.pkts_in, r.ip_bytes_out, r.ip_bytes_in, r.bytes_out, r.bytes_in) == (
        12, 10, 1820, 9034, 1020, 8434,
    )  # fmt: skip
    assert list(df["proto"].astype(str)) == ["tcp", "udp", "icmp", "unknown_transport"]
    assert df["src_port"].iloc[2] == 0x87 and pd.isna(df["src_port"].iloc[3])


def test_stratosphere_binetflow_mapping() -> None:
    """Stratosphere/CTU-13 columns; "0" and a MAC address are nulled and counted, not origins."""
    m = str(MAPPINGS / "stratosphere-binetflow.toml")
    df, rep = _read(FLOW / "stratosphere.binetflow", "flow", flow_mapping=m)
    st_ = rep.files[0]
    assert st_.rows == 5 and not st_.skipped
    assert dict(st_.nulled) == {"invalid src_ip": 1, "invalid dst_ip": 1}
    r = df.iloc[0]
    assert r.ts == pd.Timestamp("2011-08-10 09:46:59.607825", tz="UTC") and r.duration == 1.026539
    assert (r.src_ip, r.src_port, r.dst_ip, r.dst_port, r.proto) == (
        "203.0.113.9", 1577, "198.51.100.20", 6881, "tcp",
    )  # fmt: skip
    assert (r.ip_bytes_out, r.ip_bytes_in) == (156, 120) and pd.isna(r.pkts_out)
    assert (df["src_port"].iloc[1], df["dst_port"].iloc[1]) == (0x0303, 1)  # ICMP type/code, hex
    assert df["ip_bytes_in"].iloc[1] == 0
    assert pd.isna(df["src_ip"].iloc[3]) and pd.isna(df["dst_ip"].iloc[3])
    assert df["src_ip"].iloc[4] == "2001:db8::5"


def test_invalid_addresses_in_mapped_flows_are_nulled_and_counted(tmp_path: Path) -> None:
    f = tmp_path / "flows.csv"
    f.write_text("Src,Dst,DPort\n0,192.0.2.1,80\n203.0.113.5,aa:bb:cc:dd:ee:ff,80\n"
                 "host.example,2001:DB8::1,443\n203.0.113.6, 192.0.2.2 ,22\n")  # fmt: skip
    m = {"columns": {"src_ip": "Src", "dst_ip": "Dst", "dst_port": "DPort"}}
    df, rep = _read(f, "flow", flow_mapping=m)
    assert list(df["src_ip"].fillna("-")) == ["-", "203.0.113.5", "-", "203.0.113.6"]
    assert list(df["dst_ip"].fillna("-")) == ["192.0.2.1", "-", "2001:db8::1", "192.0.2.2"]
    assert dict(rep.files[0].nulled) == {"invalid src_ip": 2, "invalid dst_ip": 1}


def test_goflow2_mapping_counts_bad_line() -> None:
    m = str(MAPPINGS / "goflow2-json.toml")
    df, rep = _read(FLOW / "goflow2.json", "flow", flow_mapping=m)
    st_ = rep.files[0]
    assert (
        st_.rows == 3
        and st_.skipped == {"invalid JSON": 1}
        and st_.first_bad_line["invalid JSON"] == 3
    )
    assert df["ts"].iloc[0] == pd.Timestamp(1767324720, unit="s", tz="UTC")
    assert df["ts"].iloc[2] == pd.Timestamp(1767324720787460121, unit="ns", tz="UTC")
    assert list(df["duration"]) == [1.5, 1.0, 0.0]
    assert list(df["proto"].astype(str)) == ["udp", "tcp", "icmp"]
    assert (df["ip_bytes_out"].iloc[1], df["sensor"].iloc[1]) == (5230, "192.168.88.1")


def test_flow_without_mapping_is_one_clear_error() -> None:
    # an UnknownFormatError, so that inside a folder the file is skipped by name, not fatal
    with pytest.raises(UnknownFormatError, match="--flow-mapping"):
        read(FLOW / "argus.csv")


def test_mapping_validation(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="unknown canonical column"):
        mapping_from_dict({"columns": {"src_ip": "a", "source_ip": "b"}})
    with pytest.raises(ConfigError, match="src_ip"):
        mapping_from_dict({"columns": {"dst_ip": "b"}})
    with pytest.raises(ConfigError, match="ts_unit"):
        mapping_from_dict({"columns": {"src_ip": "a"}, "ts_unit": "fortnight"})
    bad = tmp_path / "bad.toml"
    bad.write_text("columns = [")
    with pytest.raises(ConfigError, match="not a valid TOML"):
        load_mapping(bad)
    typo = {"columns": {"src_ip": "SrcAddress"}}
    with pytest.raises(FormatError, match="SrcAddress"):
        read(FLOW / "argus.csv", "flow", options={"flow_mapping": typo})


def test_sniff() -> None:
    assert sniff(b"ts,te,td,sa,da,sp,dp,pr,flg\n2023-01-25 18:35:43,") == "nfdump"
    assert sniff(b"StartTime,Dur,Proto,SrcAddr\n1,2,3,4\n") == "flow"
    assert sniff(b'{"src_addr": "10.0.0.1"}\n') == "flow"
    assert sniff(b"\x00\x01binary,garbage,here") is None
    assert sniff(b"Hello, this is prose, not a table.\n") is None


def test_chunks_bounded(tmp_path: Path) -> None:
    lines = ["StartTime,SrcAddr,DstAddr"] + [
        f"{1e9 + i},10.0.0.{i % 200},10.1.0.1" for i in range(2500)
    ]
    p = tmp_path / "f.csv"
    p.write_text("\n".join(lines) + "\n")
    m = {"columns": {"ts": "StartTime", "src_ip": "SrcAddr", "dst_ip": "DstAddr"}}
    chunks = list(iter_read(p, "flow", chunksize=1000, options={"flow_mapping": m}))
    assert [len(c) for c in chunks] == [1000, 1000, 500]
    assert chunks[2]["src_ip"].iloc[-1] == f"10.0.0.{2499 % 200}"


# --- property-based: the CSV parser round-trips what we write -------------------------------------

_ip = st.one_of(
    st.ip_addresses(v=4).map(str), st.ip_addresses(v=6).map(lambda a: str(ipaddress.IPv6Address(a)))
)
_row = st.tuples(
    st.integers(1_000_000_000, 2_000_000_000), st.integers(0, 999_999), _ip, _ip,
    st.one_of(st.none(), st.integers(0, 65535)), st.integers(0, 2**40),
    st.sampled_from(["TCP", "UDP", "ICMP", "ICMP6", "GRE"]),
)  # fmt: skip


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row, min_size=1, max_size=30), delim=st.sampled_from([",", ";", "\t"]))
def test_generic_csv_round_trip(
    tmp_path_factory: pytest.TempPathFactory, rows: list, delim: str
) -> None:
    d = tmp_path_factory.mktemp("csv")
    head = delim.join(["Start", "Src", "Dst", "DPort", "Octets", "Proto"])
    body = [delim.join([f"{s}.{us:06d}", a, b, "" if p is None else str(p), str(o), pr])
            for s, us, a, b, p, o, pr in rows]  # fmt: skip
    f = d / "flows.csv"
    f.write_text("\n".join([head, *body]) + "\n")
    m = {"delimiter": delim, "columns": {"ts": "Start", "src_ip": "Src", "dst_ip": "Dst",
         "dst_port": "DPort", "ip_bytes_out": "Octets", "proto": "Proto"}}  # fmt: skip
    rep = ReadReport()
    df = read(f, "flow", report=rep, options={"flow_mapping": m})
    assert rep.files[0].rows == len(rows) and not rep.files[0].skipped and not rep.files[0].nulled
    want_ts = [pd.Timestamp(s * 1_000_000 + us, unit="us", tz="UTC") for s, us, *_ in rows]
    assert list(df["ts"]) == want_ts
    assert list(df["src_ip"]) == [r[2] for r in rows] and list(df["dst_ip"]) == [r[3] for r in rows]
    assert [None if pd.isna(v) else int(v) for v in df["dst_port"]] == [r[4] for r in rows]
    assert list(df["ip_bytes_out"]) == [r[5] for r in rows]
    names = {
        "TCP": "tcp",
        "UDP": "udp",
        "ICMP": "icmp",
        "ICMP6": "icmp",
        "GRE": "unknown_transport",
    }
    assert list(df["proto"].astype(str)) == [names[r[6]] for r in rows]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rows=st.lists(_row, min_size=1, max_size=20))
def test_nfdump_round_trip(tmp_path_factory: pytest.TempPathFactory, rows: list) -> None:
    d = tmp_path_factory.mktemp("nf")
    head = "ts,te,td,sa,da,sp,dp,pr,flg,fwd,stos,ipkt,ibyt,opkt,obyt,in,out,sas,das"
    body = []
    for s, us, a, b, p, o, pr in rows:
        t = pd.Timestamp(s, unit="s").strftime("%Y-%m-%d %H:%M:%S")
        body.append(
            f"{t},{t},0.000,{a},{b},{us % 65536},{p or 0},{pr},......,0,0,3,{o},0,0,0,0,0,0"
        )
    f = d / "x.csv"
    f.write_text("\n".join([head, *body, "Summary", "flows,bytes,packets", "1,2,3"]) + "\n")
    df, rep = _read(f)
    assert rep.files[0].format == "nfdump" and rep.files[0].rows == len(rows)
    assert list(df["ip_bytes_out"]) == [r[5] for r in rows]
    assert list(df["ts"]) == [pd.Timestamp(r[0], unit="s", tz="UTC") for r in rows]
    assert list(df["src_port"]) == [r[1] % 65536 for r in rows]
