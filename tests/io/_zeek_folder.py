"""A Zeek log folder as Zeek writes it: every common log type, in ASCII or JSON.

Field names and types follow the ``Info`` records of Zeek's scripts (as in Zeek's own btest
baselines); values are made up. Logs with connection endpoints (conn, dns, http, ssl, weird,
notice) share uids; the others (x509, files, dhcp, arp, software, pe, known_hosts, stats,
capture_loss, loaded_scripts) carry none.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from _zeek_data import CONN_FIELDS, CONN_TYPES, conn_row, zeek_tsv

_ID = [("id.orig_h", "addr"), ("id.orig_p", "port"), ("id.resp_h", "addr"), ("id.resp_p", "port")]


def _idv(i: int) -> list[Any]:
    return [f"10.0.{i % 256}.1", 40000 + i % 20000, "192.0.2.7", 443]


#: log type -> (fields with Zeek types, row maker); connection logs first
LOGS: dict[str, tuple[list[tuple[str, str]], Any]] = {
    "dns": (
        [
            ("ts", "time"),
            ("uid", "string"),
            *_ID,
            ("proto", "enum"),
            ("query", "string"),
            ("qtype_name", "string"),
            ("rcode_name", "string"),
            ("answers", "vector[string]"),
        ],
        lambda i: [
            1.7e9 + i,
            f"C{i:017d}",
            *_idv(i),
            "udp",
            f"h{i}.example",
            "A",
            "NOERROR",
            ["192.0.2.9"],
        ],
    ),
    "http": (
        [
            ("ts", "time"),
            ("uid", "string"),
            *_ID,
            ("method", "string"),
            ("host", "string"),
            ("uri", "string"),
            ("user_agent", "string"),
            ("status_code", "count"),
        ],
        lambda i: [1.7e9 + i, f"C{i:017d}", *_idv(i), "GET", "example.com", "/", "curl/8", 200],
    ),
    "ssl": (
        [
            ("ts", "time"),
            ("uid", "string"),
            *_ID,
            ("version", "string"),
            ("cipher", "string"),
            ("server_name", "string"),
            ("established", "bool"),
        ],
        lambda i: [
            1.7e9 + i,
            f"C{i:017d}",
            *_idv(i),
            "TLSv13",
            "TLS_AES_128_GCM_SHA256",
            "example.com",
            True,
        ],
    ),
    "weird": (
        [
            ("ts", "time"),
            ("uid", "string"),
            *_ID,
            ("name", "string"),
            ("addl", "string"),
            ("notice", "bool"),
            ("peer", "string"),
            ("source", "string"),
        ],
        lambda i: [
            1.7e9 + i,
            f"C{i:017d}",
            *_idv(i),
            "bad_TCP_checksum",
            None,
            False,
            "zeek",
            "TCP",
        ],
    ),
    "notice": (
        [
            ("ts", "time"),
            ("uid", "string"),
            *_ID,
            ("note", "enum"),
            ("msg", "string"),
            ("src", "addr"),
            ("dst", "addr"),
            ("actions", "set[enum]"),
        ],
        lambda i: [
            1.7e9 + i,
            f"C{i:017d}",
            *_idv(i),
            "SSL::Invalid_Server_Cert",
            "bad cert",
            "10.0.0.1",
            "192.0.2.7",
            ["Notice::ACTION_LOG"],
        ],
    ),
    "x509": (
        [
            ("ts", "time"),
            ("fingerprint", "string"),
            ("certificate.version", "count"),
            ("certificate.serial", "string"),
            ("certificate.subject", "string"),
            ("san.dns", "vector[string]"),
            ("basic_constraints.ca", "bool"),
        ],
        lambda i: [1.7e9 + i, f"{i:064x}", 3, f"{i:08X}", "CN=example.com", ["example.com"], False],
    ),
    "files": (
        [
            ("ts", "time"),
            ("fuid", "string"),
            ("tx_hosts", "set[addr]"),
            ("rx_hosts", "set[addr]"),
            ("conn_uids", "set[string]"),
            ("source", "string"),
            ("analyzers", "set[string]"),
            ("mime_type", "string"),
            ("seen_bytes", "count"),
        ],
        lambda i: [
            1.7e9 + i,
            f"F{i:017d}",
            ["192.0.2.7"],
            ["10.0.0.1"],
            [f"C{i:017d}"],
            "SSL",
            ["X509"],
            "application/x-x509-user-cert",
            1200,
        ],
    ),
    "dhcp": (
        [
            ("ts", "time"),
            ("uids", "set[string]"),
            ("client_addr", "addr"),
            ("server_addr", "addr"),
            ("mac", "string"),
            ("host_name", "string"),
            ("assigned_addr", "addr"),
            ("lease_time", "interval"),
            ("msg_types", "vector[string]"),
            ("duration", "interval"),
        ],
        lambda i: [
            1.7e9 + i,
            [f"D{i:017d}"],
            "10.0.0.5",
            "10.0.0.1",
            "00:11:22:33:44:55",
            "laptop",
            "10.0.0.5",
            86400.0,
            ["REQUEST", "ACK"],
            0.01,
        ],
    ),
    "arp": (
        [
            ("ts", "time"),
            ("operation", "string"),
            ("mac_src", "string"),
            ("mac_dst", "string"),
            ("orig_h", "addr"),
            ("resp_h", "addr"),
            ("who_has", "addr"),
            ("is_at", "string"),
        ],
        lambda i: [
            1.7e9 + i,
            "request",
            "00:11:22:33:44:55",
            "ff:ff:ff:ff:ff:ff",
            "10.0.0.5",
            "0.0.0.0",
            "10.0.0.1",
            None,
        ],
    ),
    "software": (
        [
            ("ts", "time"),
            ("host", "addr"),
            ("host_p", "port"),
            ("software_type", "enum"),
            ("name", "string"),
            ("version.major", "count"),
            ("unparsed_version", "string"),
        ],
        lambda i: [1.7e9 + i, "10.0.0.5", None, "HTTP::BROWSER", "curl", 8, "curl/8.4.0"],
    ),
    "pe": (
        [
            ("ts", "time"),
            ("id", "string"),
            ("machine", "string"),
            ("compile_ts", "time"),
            ("os", "string"),
            ("is_exe", "bool"),
            ("is_64bit", "bool"),
        ],
        lambda i: [1.7e9 + i, f"F{i:017d}", "AMD64", 1.6e9, "Windows XP x64", True, True],
    ),
    "known_hosts": ([("ts", "time"), ("host", "addr")], lambda i: [1.7e9 + i, f"10.0.{i}.9"]),
    "capture_loss": (
        [
            ("ts", "time"),
            ("ts_delta", "interval"),
            ("peer", "string"),
            ("gaps", "count"),
            ("acks", "count"),
            ("percent_lost", "double"),
        ],
        lambda i: [1.7e9 + i, 900.0, "zeek", 0, 10, 0.0],
    ),
    "stats": (
        [
            ("ts", "time"),
            ("peer", "string"),
            ("mem", "count"),
            ("pkts_proc", "count"),
            ("bytes_recv", "count"),
        ],
        lambda i: [1.7e9 + i, "zeek", 100, 1000 + i, 100000],
    ),
    "loaded_scripts": ([("name", "string")], lambda i: [f"/opt/zeek/share/zeek/base/s{i}.zeek"]),
}
#: logs whose rows name no connection endpoint
NO_ENDPOINTS = ("x509", "files", "dhcp", "arp", "software", "pe", "known_hosts", "capture_loss",
                "stats", "loaded_scripts")  # fmt: skip


def write_zeek_folder(folder: Path, fmt: str = "tsv", rows: int = 3) -> dict[str, int]:
    """Write conn.log plus every log of :data:`LOGS`; return the rows written per log type."""
    folder.mkdir(parents=True, exist_ok=True)
    counts: dict[str, int] = {"conn": rows}
    conn = [conn_row(i) for i in range(rows)]
    _write(folder, "conn", list(zip(CONN_FIELDS, CONN_TYPES, strict=True)), conn, fmt)
    for name, (fields, make) in LOGS.items():
        _write(folder, name, fields, [make(i) for i in range(rows)], fmt)
        counts[name] = rows
    return counts


def _write(folder: Path, name: str, fields: list[tuple[str, str]], rows: list[Any],
           fmt: str) -> None:  # fmt: skip
    names = [f for f, _ in fields]
    if fmt == "tsv":
        data = zeek_tsv(names, [t for _, t in fields], rows, path=name)
        (folder / f"{name}.log").write_bytes(data)
        return
    lines = [json.dumps({k: v for k, v in zip(names, r, strict=True) if v is not None})
             for r in rows]  # fmt: skip
    (folder / f"{name}.log").write_text("\n".join(lines) + "\n")
