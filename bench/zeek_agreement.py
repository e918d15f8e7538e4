"""Agreement of attrib's pcap reader with Zeek's own conn.log on Zeek's test traces.

For every (baseline conn.log, trace) pair in ``../shared/data/zeek-btest/PAIRS.tsv`` whose link
type attrib decodes, read the trace with attrib, match attrib's connections to Zeek's rows by
(proto, orig_h, orig_p, resp_h, resp_p) and order of occurrence, and print per trace and overall
the share of Zeek rows matched and, among matched rows, the share identical on orig/resp packets,
orig/resp bytes, conn_state and history.

    .venv/bin/python bench/zeek_agreement.py [--data ../shared/data/zeek-btest] [-v]
"""

from __future__ import annotations

import argparse
import csv
import gzip
import shutil
import sys
import tempfile
from collections import defaultdict
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from attrib.errors import AttribError  # noqa: E402
from attrib.io import read  # noqa: E402

FIELDS = ("orig_pkts", "resp_pkts", "orig_bytes", "resp_bytes", "conn_state", "history")
SUPPORTED_LINKS = {0, 1, 12, 14, 101, 108, 113, 228, 229, 276}


def parse_conn_log(path: Path) -> list[dict[str, str]]:
    """Rows of a Zeek TSV conn.log as dicts of text."""
    fields: list[str] = []
    rows = []
    for line in path.read_text(errors="replace").splitlines():
        if line.startswith("#fields"):
            fields = line.split("\t")[1:]
        elif line and not line.startswith("#") and fields:
            rows.append(dict(zip(fields, line.split("\t"), strict=False)))
    return rows


def link_type(trace: Path) -> int | None:
    """Link type of a pcap (first interface of a pcapng), None if unknown."""
    opener = gzip.open if trace.suffix == ".gz" else open
    with opener(trace, "rb") as fh:
        head = fh.read(4096)
    m = head[:4]
    if m in (b"\xd4\xc3\xb2\xa1", b"\x4d\x3c\xb2\xa1"):
        return int.from_bytes(head[20:24], "little") & 0xFFFF
    if m in (b"\xa1\xb2\xc3\xd4", b"\xa1\xb2\x3c\x4d"):
        return int.from_bytes(head[20:24], "big") & 0xFFFF
    if m == b"\x0a\x0d\x0d\x0a":
        order = "little" if head[8:12] == b"\x4d\x3c\x2b\x1a" else "big"
        shb_len = int.from_bytes(head[4:8], order)
        p = shb_len
        if int.from_bytes(head[p : p + 4], order) == 1:
            return int.from_bytes(head[p + 8 : p + 10], order)
    return None


def ours(trace: Path) -> list[dict[str, str]]:
    """attrib's connections of a trace, as Zeek-like text fields."""
    df = read(trace, format="pcap")
    out = []
    for r in df.itertuples(index=False):

        def txt(v: object) -> str:
            return "-" if v is None or str(v) in ("<NA>", "nan", "NaT") else str(v)

        out.append(
            {
                "proto": str(r.proto),
                "id.orig_h": r.src_ip,
                "id.orig_p": str(r.src_port),
                "id.resp_h": r.dst_ip,
                "id.resp_p": str(r.dst_port),
                "orig_pkts": txt(r.pkts_out),
                "resp_pkts": txt(r.pkts_in),
                "orig_bytes": txt(r.bytes_out),
                "resp_bytes": txt(r.bytes_in),
                "conn_state": txt(r.conn_state),
                "history": txt(r.history),
            }
        )
    return out


def compare(zeek: list[dict[str, str]], mine: list[dict[str, str]]) -> tuple[int, int, list[str]]:
    """(matched, identical, differences) of Zeek rows against ours."""

    def key(r: dict[str, str]) -> tuple[str, ...]:
        return (r["proto"], r["id.orig_h"], r["id.orig_p"], r["id.resp_h"], r["id.resp_p"])

    pool: dict[tuple[str, ...], list[dict[str, str]]] = defaultdict(list)
    for r in mine:
        pool[key(r)].append(r)
    matched = same = 0
    diffs = []
    for z in zeek:
        cand = pool.get(key(z))
        if not cand:
            diffs.append(f"  unmatched zeek row {key(z)} {z.get('history')}")
            continue
        m = cand.pop(0)
        matched += 1
        bad = [f for f in FIELDS if z.get(f, "-") != m[f]]
        if not bad:
            same += 1
        else:
            diffs.append(
                f"  {key(z)} " + ", ".join(f"{f}: zeek {z.get(f)} ours {m[f]}" for f in bad)
            )
    return matched, same, diffs


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "zeek-btest"))
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    data = Path(args.data)
    if not (data / "PAIRS.tsv").exists():
        print(f"no Zeek btest data at {data}; skipping")
        return 0
    tot_z = tot_m = tot_s = 0
    skipped = []
    with open(data / "PAIRS.tsv", newline="") as fh, tempfile.TemporaryDirectory() as tmp:
        for row in csv.DictReader(fh, delimiter="\t"):
            if row["log"] != "conn.log":
                continue
            trace = data / row["trace"]
            base = data / row["baseline"]
            if not trace.is_file() or not base.is_file():
                skipped.append((row["test"], "trace or baseline missing"))
                continue
            lt = link_type(trace)
            if lt not in SUPPORTED_LINKS:
                skipped.append((row["test"], f"link type {lt} (802.11/radiotap) not decoded"))
                continue
            if trace.suffix == ".gz":
                plain = Path(tmp) / trace.stem
                with gzip.open(trace, "rb") as src, open(plain, "wb") as dst:
                    shutil.copyfileobj(src, dst)
                trace = plain
            zeek = [r for r in parse_conn_log(base) if r.get("proto") and "id.orig_h" in r]
            try:
                mine = ours(trace)
            except AttribError as exc:
                skipped.append((row["test"], f"attrib error: {exc}"))
                continue
            m, s, diffs = compare(zeek, mine)
            tot_z += len(zeek)
            tot_m += m
            tot_s += s
            pm = 100 * m / len(zeek) if zeek else 100.0
            ps = 100 * s / m if m else 100.0
            print(
                f"{row['test']:<55} zeek rows {len(zeek):4d}  matched {pm:6.1f}%  "
                f"identical {ps:6.1f}%"
            )
            if args.verbose:
                for d in diffs[:20]:
                    print(d)
    print("-" * 100)
    pm = 100 * tot_m / tot_z if tot_z else 0.0
    ps = 100 * tot_s / tot_m if tot_m else 0.0
    print(
        f"OVERALL: zeek rows {tot_z}, matched {tot_m} ({pm:.1f}%), identical on packets, bytes, "
        f"conn_state and history {tot_s} ({ps:.1f}% of matched)"
    )
    for test, why in skipped:
        print(f"skipped {test}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
