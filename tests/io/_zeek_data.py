"""Zeek test helpers: the reference logs and a writer that escapes like Zeek's ASCII writer."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
DATA = Path(__file__).resolve().parents[1] / "data"
#: third-party reference data committed with the tests (provenance in tests/data/ref/README.md)
SHARED = DATA / "ref"
BTEST = SHARED / "zeek-btest" / "Baseline"
OTRF = SHARED / "samples" / "otrf-apt29" / "apt29_day2"
NFDUMP = SHARED / "samples" / "nfdump"

CONN_FIELDS = [
    "ts", "uid", "id.orig_h", "id.orig_p", "id.resp_h", "id.resp_p", "proto", "service",
    "duration", "orig_bytes", "resp_bytes", "conn_state", "local_orig", "local_resp",
    "missed_bytes", "history", "orig_pkts", "orig_ip_bytes", "resp_pkts", "resp_ip_bytes",
    "tunnel_parents",
]  # fmt: skip
CONN_TYPES = [
    "time", "string", "addr", "port", "addr", "port", "enum", "string", "interval", "count",
    "count", "string", "bool", "bool", "count", "string", "count", "count", "count", "count",
    "set[string]",
]  # fmt: skip


def btest_logs() -> list[Path]:
    """Every conn.log and ssl.log baseline (empty when the shared data is absent)."""
    if not BTEST.exists():
        return []
    return sorted([*BTEST.glob("*/conn.log"), *BTEST.glob("*/ssl.log")])


def otrf_logs() -> list[Path]:
    """Every Zeek log of the OTRF APT29 sample (empty when absent)."""
    return sorted(OTRF.glob("*/*.log")) if OTRF.exists() else []


def data_lines(path: Path) -> int:
    """Number of data lines: non-empty lines not starting with ``#``."""
    with open(path, "rb") as fh:
        return sum(1 for line in fh if line.strip() and not line.startswith(b"#"))


def escape(value: str, sep: bytes = b"\t", set_sep: bytes | None = None) -> bytes:
    """Escape one value as Zeek's ASCII writer does (backslash escaped too, for a lossless trip)."""
    out = bytearray()
    specials = set(sep) | (set(set_sep) if set_sep else set()) | {ord("\\")}
    for b in value.encode("utf-8"):
        if b in specials or b < 0x20 or b == 0x7F:
            out += b"\\x%02x" % b
        else:
            out.append(b)
    return bytes(out)


def format_value(
    value: Any, ztype: str, sep: bytes = b"\t", set_sep: bytes = b",",
    empty: bytes = b"(empty)", unset: bytes = b"-",
) -> bytes:  # fmt: skip
    """One field as Zeek writes it: unset, empty string/container, escapes, sets."""
    if value is None:
        return unset
    if ztype.startswith(("set[", "vector[")):
        if not value:
            return empty
        return set_sep.join(_plain(str(v), sep, set_sep, empty, unset) for v in value)
    if isinstance(value, bool):
        return b"T" if value else b"F"
    if isinstance(value, float):
        return b"%.6f" % value
    if isinstance(value, int):
        return str(value).encode()
    if value == "":
        return empty
    return _plain(value, sep, None, empty, unset)


def _plain(value: str, sep: bytes, set_sep: bytes | None, empty: bytes, unset: bytes) -> bytes:
    enc = escape(value, sep, set_sep)
    if enc in (unset, empty):
        enc = b"\\x%02x" % enc[0] + enc[1:]
    return enc


def zeek_tsv(
    fields: Sequence[str],
    types: Sequence[str],
    rows: Sequence[Sequence[Any]],
    *,
    path: str = "conn",
    sep: bytes = b"\t",
    set_sep: bytes = b",",
    close: bool = True,
) -> bytes:
    """A whole Zeek ASCII log section."""
    hx = "".join(f"\\x{b:02x}" for b in sep).encode()
    head = [
        b"#separator " + hx,
        b"#set_separator" + sep + set_sep,
        b"#empty_field" + sep + b"(empty)",
        b"#unset_field" + sep + b"-",
        b"#path" + sep + path.encode(),
        b"#open" + sep + b"2024-01-01-00-00-00",
        b"#fields" + sep + sep.join(f.encode() for f in fields),
        b"#types" + sep + sep.join(t.encode() for t in types),
    ]
    body = [sep.join(format_value(v, t, sep, set_sep) for v, t in zip(r, types, strict=True))
            for r in rows]  # fmt: skip
    tail = [b"#close" + sep + b"2024-01-01-00-00-01"] if close else []
    return b"\n".join(head + body + tail) + b"\n"


def conn_row(i: int, **over: Any) -> list[Any]:
    """A plausible conn.log row (values depend on ``i``)."""
    row: dict[str, Any] = {
        "ts": 1_700_000_000.0 + i + 0.123456, "uid": f"C{i:017d}", "id.orig_h": f"10.0.{i % 256}.1",
        "id.orig_p": 40000 + i % 20000, "id.resp_h": "192.0.2.7", "id.resp_p": 443, "proto": "tcp",
        "service": "ssl", "duration": 1.5, "orig_bytes": 100 + i, "resp_bytes": 2000 + i,
        "conn_state": "SF", "local_orig": True, "local_resp": False, "missed_bytes": 0,
        "history": "ShADadFf", "orig_pkts": 5, "orig_ip_bytes": 400 + i, "resp_pkts": 6,
        "resp_ip_bytes": 2300 + i, "tunnel_parents": [],
    }  # fmt: skip
    row.update(over)
    return [row[f] for f in CONN_FIELDS]
