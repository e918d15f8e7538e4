"""Agreement with Zeek's own conn.log on Zeek's test traces (see bench/zeek_agreement.py), and
of the compiled parts with the reference ones on every real capture."""

from __future__ import annotations

import csv
import importlib.util
from dataclasses import fields
from pathlib import Path
from types import ModuleType

import numpy as np
import pandas as pd
import pytest
from _pcap_data import JA4_DIR, REPO, ZEEK_DIR, need

from attrib.io import open_source, read
from attrib.io._base import FileStats, ReadContext
from attrib.io.pcap._container import iter_batches
from attrib.io.pcap._decode import Decoded, decode
from attrib.io.pcap._table import FastTracker


def _bench() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "zeek_agreement", REPO / "bench" / "zeek_agreement.py"
    )
    assert spec and spec.loader
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def _pairs() -> dict[str, tuple[Path, Path]]:
    if not (ZEEK_DIR / "PAIRS.tsv").exists():
        return {}
    with open(ZEEK_DIR / "PAIRS.tsv", newline="") as fh:
        return {
            r["test"]: (ZEEK_DIR / r["baseline"], ZEEK_DIR / r["trace"])
            for r in csv.DictReader(fh, delimiter="\t")
            if r["log"] == "conn.log"
        }


PAIRS = _pairs()
# (test, identical rows expected) — every Zeek row must be matched
SMALL = {
    "core.pppoe": 7,
    "scripts.base.protocols.ftp.ftp-ipv4": 5,
    "scripts.base.protocols.ftp.ftp-ipv6": 6,
    "core.tunnels.gre": 7,
    "core.tunnels.teredo_bubble_with_payload": 7,
    # its half-closed port-80 connections split where Zeek's close_complete rule deletes them
    "core.tunnels.teredo": 21,
    # the server's reply first: Zeek's NTP analyser flips the roles by the NTP mode
    "scripts.base.protocols.ntp.misordered-ntp": 1,
    "scripts.base.protocols.ssh.half-duplex-client": 25,
    # wikipedia.pcap as a default Zeek reads it: its SYN-ACK-first connection from port 80 is
    # flipped (WantConnection); the field-extension tests read the same trace with ``zeek -b``,
    # whose likely_server_ports lack 80 (no HTTP analyser loaded), and do not flip it
    "opt.basic": 34,
}


@pytest.mark.parametrize("test", sorted(SMALL))
def test_small_traces_agree_with_zeek(test: str) -> None:
    need(ZEEK_DIR / "PAIRS.tsv")
    base, trace = PAIRS[test]
    bench = _bench()
    zeek = [r for r in bench.parse_conn_log(need(base)) if r.get("proto") and "id.orig_h" in r]
    matched, same, diffs = bench.compare(zeek, bench.ours(need(trace)))
    assert matched == len(zeek), diffs
    assert same == SMALL[test], diffs


def test_engines_agree_on_every_trace() -> None:
    need(ZEEK_DIR / "PAIRS.tsv")
    traces = sorted({t for _, t in PAIRS.values() if t.suffix != ".gz" and t.exists()})
    checked = 0
    for t in traces:
        try:
            fast = read(t, options={"pcap_engine": "numba"})
        except Exception as exc:  # unsupported link types are errors for both engines
            with pytest.raises(type(exc)):
                read(t, options={"pcap_engine": "python"})
            continue
        ref = read(t, options={"pcap_engine": "python"})
        cols = [c for c in fast.columns if c != "uid"]
        key = ["ts", "src_ip", "src_port", "dst_ip", "dst_port", "proto"]
        a = fast[cols].sort_values(key, kind="stable").reset_index(drop=True)
        b = ref[cols].sort_values(key, kind="stable").reset_index(drop=True)
        pd.testing.assert_frame_equal(a, b, obj=str(t))
        checked += 1
    assert checked >= 20


def _captures() -> list[Path]:
    """Every readable capture beside the repository: Zeek's traces and FoxIO's JA4 samples."""
    found = sorted(p for p in ZEEK_DIR.glob("Traces/**/*.pcap*") if p.suffix != ".gz")
    found += sorted((JA4_DIR / "pcap").glob("*.pcap*"))
    return found


def test_compiled_parts_equal_the_reference_parts_on_every_capture() -> None:
    """The compiled decoder gives the numpy decoder's fields, and the compiled stream
    reassembly, ClientHello and SYN-option parsing give the Python parsers' results
    (``FastTracker(verify=True)`` asserts this for every TCP connection)."""
    caps = _captures()
    if len(caps) < 20:
        pytest.skip("reference captures missing")
    packets = conns = 0
    for p in caps:
        ctx = ReadContext(stats=FileStats(path=str(p)), max_bad_rows=10**9)
        tr = FastTracker(cap=64, verify=True)
        with open_source(p).open() as fh:
            for batch in iter_batches(fh, ctx):
                d = decode(batch)
                ref = decode(batch, compiled=False)
                for f in fields(Decoded):
                    x, y = getattr(d, f.name), getattr(ref, f.name)
                    assert x.dtype == y.dtype and np.array_equal(x, y), (p, f.name)
                packets += len(d.ok)
                out = tr.feed(batch, d)
                conns += 0 if out is None else len(out["S"])
        out = tr.flush()
        conns += 0 if out is None else len(out["S"])
    assert packets > 5_000 and conns > 200


def test_the_agreement_bench_finds_a_checkouts_conn_log_tests(tmp_path: Path) -> None:
    """``--zeek-checkout``: a Baseline/<test>/conn.log pairs with the trace its script reads
    before diffing conn.log (test names map to script paths, dots to folders)."""
    bt = tmp_path / "testing" / "btest"
    (bt / "core" / "tunnels").mkdir(parents=True)
    (bt / "core" / "tunnels" / "gre-pptp.zeek").write_text(
        "# @TEST-EXEC: zeek -r $TRACES/tunnels/gre-pptp.pcap %INPUT\n"
        "# @TEST-EXEC: btest-diff conn.log\n"
    )
    (bt / "core" / "no-conn.zeek").write_text("# @TEST-EXEC: zeek -r $TRACES/x.pcap\n")
    (bt / "core" / "rotate.zeek").write_text(
        "# @TEST-EXEC: zeek -b -r $TRACES/a.pcap %INPUT\n"
        "# @TEST-EXEC: zeek -b -r $TRACES/b.pcap %INPUT >out\n"
        "# @TEST-EXEC: btest-diff conn.log\n"
    )
    for t in ("core.tunnels.gre-pptp", "core.rotate", "core.orphan"):
        (bt / "Baseline" / t).mkdir(parents=True)
        (bt / "Baseline" / t / "conn.log").write_text("#fields\tts\n")
    bench = _bench()
    pairs = {p["test"]: Path(p["trace"]).relative_to(bt / "Traces").as_posix()
             for p in bench.checkout_pairs(tmp_path)}  # fmt: skip
    assert pairs == {"core.tunnels.gre-pptp": "tunnels/gre-pptp.pcap", "core.rotate": "b.pcap"}
    assert bench.trace_class("core.tunnels.gre-pptp", "tunnels/gre-pptp.pcap", 1) == "tunnels"
    assert bench.trace_class("core.ppp", "ppp.pcap", 9) == "link layers"
    assert (
        bench.reversed_rows(
            [
                {
                    "proto": "tcp",
                    "id.orig_h": "a",
                    "id.orig_p": "1",
                    "id.resp_h": "b",
                    "id.resp_p": "2",
                }
            ],
            [
                {
                    "proto": "tcp",
                    "id.orig_h": "b",
                    "id.orig_p": "2",
                    "id.resp_h": "a",
                    "id.resp_p": "1",
                }
            ],
        )
        == 1
    )
