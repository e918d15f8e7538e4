"""Agreement of attrib's pcap reader with Zeek's own conn.log on Zeek's test traces.

Pairs of (baseline conn.log, trace) come either from ``PAIRS.tsv`` of a prepared folder
(``--data``, default ``../shared/data/zeek-btest``) or straight from a Zeek source checkout
(``--zeek-checkout DIR``: every ``testing/btest/Baseline/<test>/conn.log`` whose test script,
``testing/btest/<test with dots as folders>[.zeek|.test|...]``, reads a trace with
``-r $TRACES/...`` before it diffs conn.log). Each trace is read with attrib and its
connections matched to Zeek's rows by (proto, orig_h, orig_p, resp_h, resp_p) and order of
occurrence. Printed: per trace and overall, the share of Zeek rows matched with the same
direction, found reversed (originator and responder swapped) or not produced, and, among the
matched, the share identical on the fields the baseline has of orig/resp packets, orig/resp
bytes, conn_state and history; then the same by class (link layer, tunnel, ...; by proto).

    .venv/bin/python bench/zeek_agreement.py [--data ../shared/data/zeek-btest] [-v]
    .venv/bin/python bench/zeek_agreement.py --zeek-checkout ~/src/zeek [--exclude-sample] [-v]

``--exclude-sample`` leaves out the tests of ``--data``'s PAIRS.tsv (the traces the reader was
developed against), so what remains is agreement on traces it has not seen.
"""

from __future__ import annotations

import argparse
import csv
import gzip
import re
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
SUPPORTED_LINKS = {0, 1, 9, 12, 14, 50, 101, 108, 113, 228, 229, 276}


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
        bad = [f for f in FIELDS if f in z and z[f] != m[f]]
        if not bad:
            same += 1
        else:
            diffs.append(
                f"  {key(z)} " + ", ".join(f"{f}: zeek {z.get(f)} ours {m[f]}" for f in bad)
            )
    return matched, same, diffs


def reversed_rows(zeek: list[dict[str, str]], mine: list[dict[str, str]]) -> int:
    """Zeek rows not matched as they are but produced with originator and responder swapped."""

    def key(r: dict[str, str], flip: bool = False) -> tuple[str, ...]:
        o, p = ("id.resp_h", "id.resp_p") if flip else ("id.orig_h", "id.orig_p")
        h, q = ("id.orig_h", "id.orig_p") if flip else ("id.resp_h", "id.resp_p")
        return (r["proto"], r[o], r[p], r[h], r[q])

    same = defaultdict(int)
    for r in mine:
        same[key(r)] += 1
    rev = defaultdict(int)
    for r in mine:
        rev[key(r, flip=True)] += 1
    n = 0
    for z in zeek:
        k = key(z)
        if same[k] > 0:
            same[k] -= 1
        elif rev[k] > 0:
            rev[k] -= 1
            n += 1
    return n


#: test-name words that put a trace in the link-layer class (beside a link type other than
#: Ethernet or raw IP)
_LINK_WORDS = ("pppoe", "ppp", "vlan", "mpls", "fabric", "pbb", "vntag", "vn-tag", "erspan",
               "sll", "nflog", "radiotap", "wlan", "802", "fddi", "null", "loopback", "raw")  # fmt: skip


def trace_class(test: str, trace: str, lt: int | None) -> str:
    """The class a btest belongs to: link layer, tunnel, tcp state, ip/fragments or protocol."""
    low = test.lower()
    if "tunnel" in low or "/tunnels/" in f"/{trace}":
        return "tunnels"
    if lt not in (1, 101, 12, 14, 228, 229) or any(w in low for w in _LINK_WORDS):
        return "link layers"
    if any(w in low for w in ("tcp", "conn", "history", "reassembl", "truncat", "missing")):
        return "tcp corner cases"
    if any(w in low for w in ("frag", "ipv6", "ip-", "icmp", "unknown", "sctp")):
        return "ip, icmp, unknown protocols"
    return "application traces"


_EXEC = re.compile(r"@TEST-EXEC(?:-FAIL)?:(.*)")
_TRACE = re.compile(r"\$TRACES/([^\s\"'|;)]+)")


def script_trace(script: Path) -> str | None:
    """The trace a btest script reads before it diffs conn.log (``-r $TRACES/...``)."""
    last = None
    for line in script.read_text(errors="replace").splitlines():
        m = _EXEC.search(line)
        if not m:
            continue
        cmd = m.group(1)
        t = _TRACE.findall(cmd)
        if t and ("-r" in cmd.split() or "gunzip" in cmd or "-r " in cmd):
            last = t[-1]
        if "btest-diff conn.log" in cmd and last:
            return last
    return last


def checkout_pairs(root: Path) -> list[dict[str, str]]:
    """(test, baseline, trace) of a Zeek checkout's btests that diff a conn.log."""
    bt = root / "testing" / "btest" if (root / "testing" / "btest").is_dir() else root
    out = []
    for base in sorted((bt / "Baseline").glob("*/conn.log*")):
        if base.name not in ("conn.log", "conn.log.cut"):
            continue
        test = base.parent.name
        parts = test.split(".")
        script = None
        for k in range(len(parts), 0, -1):  # test names may contain dots of their own
            stem = bt.joinpath(*parts[: k - 1], ".".join(parts[k - 1 :])) if k > 1 else bt / test
            for cand in (stem, *(stem.with_name(stem.name + e) for e in (".zeek", ".test",
                                                                          ".bro", ".sh"))):  # fmt: skip
                if cand.is_file():
                    script = cand
                    break
            if script:
                break
        trace = script_trace(script) if script else None
        if trace:
            out.append({"test": test, "log": "conn.log", "baseline": str(base),
                        "trace": str(bt / "Traces" / trace)})  # fmt: skip
    return out


def _plain(trace: Path, tmp: str) -> Path:
    if trace.suffix != ".gz":
        return trace
    plain = Path(tmp) / trace.stem
    with gzip.open(trace, "rb") as src, open(plain, "wb") as dst:
        shutil.copyfileobj(src, dst)
    return plain


def _sample_tests(data: Path) -> set[str]:
    if not (data / "PAIRS.tsv").exists():
        return set()
    with open(data / "PAIRS.tsv", newline="") as fh:
        return {r["test"] for r in csv.DictReader(fh, delimiter="\t")}


def _pairs(args: argparse.Namespace) -> list[dict[str, str]] | None:
    data = Path(args.data)
    if args.zeek_checkout:
        pairs = checkout_pairs(Path(args.zeek_checkout))
        if args.exclude_sample:
            seen = _sample_tests(data)
            pairs = [p for p in pairs if p["test"] not in seen]
        return pairs
    if not (data / "PAIRS.tsv").exists():
        return None
    with open(data / "PAIRS.tsv", newline="") as fh:
        return [
            {**r, "baseline": str(data / r["baseline"]), "trace": str(data / r["trace"])}
            for r in csv.DictReader(fh, delimiter="\t")
            if r["log"] == "conn.log"
        ]


class Tally:
    """Zeek rows, matched, reversed and identical counts of a group of traces."""

    def __init__(self) -> None:
        self.zeek = self.matched = self.reversed = self.same = self.traces = 0

    def add(self, z: int, m: int, r: int, s: int) -> None:
        self.traces += 1
        self.zeek += z
        self.matched += m
        self.reversed += r
        self.same += s

    def line(self, name: str) -> str:
        z = self.zeek or 1
        m = self.matched or 1
        return (f"{name:<30} traces {self.traces:4d}  zeek rows {self.zeek:5d}  matched "
                f"{100 * self.matched / z:5.1f}%  reversed {100 * self.reversed / z:5.1f}%  "
                f"not produced {100 * (self.zeek - self.matched - self.reversed) / z:5.1f}%  "
                f"identical {100 * self.same / m:5.1f}% of matched")  # fmt: skip


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[1])
    ap.add_argument("--data", default=str(REPO.parent / "shared" / "data" / "zeek-btest"))
    ap.add_argument("--zeek-checkout", help="a Zeek source tree (testing/btest/Traces, Baseline)")
    ap.add_argument(
        "--exclude-sample",
        action="store_true",
        help="with --zeek-checkout: leave out the tests of --data's PAIRS.tsv",
    )
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args()
    pairs = _pairs(args)
    if pairs is None:
        print(f"no Zeek btest data at {args.data}; skipping")
        return 0
    total = Tally()
    by_class: dict[str, Tally] = defaultdict(Tally)
    by_proto: dict[str, Tally] = defaultdict(Tally)
    skipped = []
    with tempfile.TemporaryDirectory() as tmp:
        for row in pairs:
            trace, base = Path(row["trace"]), Path(row["baseline"])
            if not trace.is_file() or not base.is_file():
                skipped.append((row["test"], "trace or baseline missing"))
                continue
            lt = link_type(trace)
            if lt not in SUPPORTED_LINKS:
                skipped.append((row["test"], f"link type {lt} not decoded"))
                continue
            zeek = [r for r in parse_conn_log(base) if r.get("proto") and "id.orig_h" in r]
            try:
                mine = ours(_plain(trace, tmp))
            except AttribError as exc:
                skipped.append((row["test"], f"attrib error: {exc}"))
                continue
            m, s, diffs = compare(zeek, mine)
            r = reversed_rows(zeek, mine)
            total.add(len(zeek), m, r, s)
            by_class[trace_class(row["test"], row["trace"], lt)].add(len(zeek), m, r, s)
            for proto in sorted({z["proto"] for z in zeek}):
                zp = [z for z in zeek if z["proto"] == proto]
                mp = [x for x in mine if x["proto"] == proto]
                mm, ss, _ = compare(zp, mp)
                by_proto[proto].add(len(zp), mm, reversed_rows(zp, mp), ss)
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
    pm = 100 * total.matched / total.zeek if total.zeek else 0.0
    ps = 100 * total.same / total.matched if total.matched else 0.0
    print(
        f"OVERALL: zeek rows {total.zeek}, matched {total.matched} ({pm:.1f}%), identical on "
        f"packets, bytes, conn_state and history {total.same} ({ps:.1f}% of matched)"
    )
    print("  " + total.line("all"))
    print("by class:")
    for name in sorted(by_class):
        print("  " + by_class[name].line(name))
    print("by proto:")
    for name in sorted(by_proto):
        print("  " + by_proto[name].line(name))
    for test, why in skipped:
        print(f"skipped {test}: {why}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
