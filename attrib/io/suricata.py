"""Suricata EVE JSON reader: ``flow``, ``tls``, ``ssh`` and ``http`` events.

One JSON object per line (EVE's ``filetype: regular``). Application events (``tls``, ``ssh``,
``http``) are joined onto their ``flow`` row by ``flow_id`` within the file: an app event
usually comes before its flow event (Suricata logs the flow when it ends), so app fields wait
in a per-flow buffer until the flow row arrives. The buffer is bounded by ``chunksize`` flows;
app events whose flow never comes (flow logging off, or the flow is in another file) are
emitted as rows of their own at the end, or when the buffer is full.

Event types that carry no connection metadata for attrib (``alert``, ``dns``, ``fileinfo``,
``stats``, ``anomaly``, ...) are valid EVE, not garbage: they are dropped and counted in
``FileStats.nulled`` as ``"ignored event_type <name>"`` rather than as bad rows, so a file full
of alerts never trips ``--max-bad-rows``.

Mapping (EVE -> canonical): ``flow.start`` -> ``ts`` (the event ``timestamp`` for app events),
``flow.end - flow.start`` -> ``duration``, ``pkts_toserver/toclient`` -> ``pkts_out/in``,
``bytes_toserver/toclient`` -> ``ip_bytes_out/in`` (Suricata counts whole packets, headers
included, so these are not Zeek's payload ``bytes_out``), ``app_proto`` -> ``service``,
``flow_id`` -> ``uid``, ``event_type`` -> ``event_type`` (``flow`` for flow rows, joined
or not; ``tls``/``ssh``/``http`` for app events without a flow row), ``host`` (sensor-name) ->
``sensor`` (else the file path), ``tls.ja3.hash`` -> ``ja3``,
``tls.ja4`` -> ``ja4``, ``tls.sni`` -> ``tls_sni``, ``tls.version`` -> ``tls_version``,
``ssh.client.software_version`` -> ``ssh_client``, ``ssh.client.hassh.hash`` -> ``hassh``,
``http.http_user_agent`` -> ``user_agent``. ``conn_state`` is derived from the TCP flags of the
flow event only where Zeek's meaning is certain: ``S0`` (SYN, no reply), ``REJ`` (SYN answered
by RST without SYN-ACK), ``SF`` (SYN and FIN both ways, no RST); otherwise null.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import pandas as pd

from attrib.io._base import ReadContext
from attrib.io._fields import as_int_array, as_str_array, parse_timestamps
from attrib.io._jsonlines import Record, head_records, iter_record_batches
from attrib.io._source import Source
from attrib.schema import conform_events

__all__ = ["APP_COLUMNS", "EVENT_TYPES", "FORMATS", "read_chunks", "sniff"]

logger = logging.getLogger(__name__)

FORMATS = ("suricata",)
#: EVE event types that become events.
EVENT_TYPES = ("flow", "tls", "ssh", "http")
#: Columns an app event contributes to its flow row.
APP_COLUMNS = ("ja3", "ja4", "tls_sni", "tls_version", "ssh_client", "hassh", "user_agent")

_PROTOS = {"tcp": "tcp", "udp": "udp", "icmp": "icmp", "ipv6-icmp": "icmp"}
_APP_PATHS: dict[str, tuple[str, ...]] = {
    "ja3": ("tls", "ja3", "hash"),
    "ja4": ("tls", "ja4"),
    "tls_sni": ("tls", "sni"),
    "tls_version": ("tls", "version"),
    "ssh_client": ("ssh", "client", "software_version"),
    "hassh": ("ssh", "client", "hassh", "hash"),
    "user_agent": ("http", "http_user_agent"),
}
_FIN, _SYN, _RST = 0x01, 0x02, 0x04
#: EVE lines parsed per batch: small records, and fewer, larger batches keep the per-batch
#: work on the pending-flow buffer (up to ``chunksize`` rows) amortised.
_BATCH = 20_000


def sniff(head: bytes) -> str | None:
    """Return ``"suricata"`` when the head holds EVE records (``event_type`` + ``timestamp``).

    Parameters
    ----------
    head
        The first bytes of the decompressed file.

    Returns
    -------
    str or None
        The format name, or ``None``.
    """
    try:
        recs = head_records(head)
    except Exception:  # noqa: BLE001 - a sniffer must never raise
        return None
    hits = [r for r in recs if "event_type" in r and "timestamp" in r]
    return "suricata" if hits and len(hits) * 2 > len(recs) else None


def read_chunks(source: Source, ctx: ReadContext, fmt: str = "suricata") -> Iterator[pd.DataFrame]:
    """Yield canonical event chunks from an EVE JSON file.

    Parameters
    ----------
    source
        The input file.
    ctx
        Read context (chunk size, bad-row accounting).
    fmt
        Always ``"suricata"``.

    Yields
    ------
    pandas.DataFrame
        Chunks conforming to :data:`attrib.schema.EVENT_DTYPES`.
    """
    sensor = str(source.path)
    pending = pd.DataFrame()
    for batch in iter_record_batches(source, ctx, _BATCH):
        frame = _frame(_keep(batch, ctx), sensor)
        if frame.empty:
            continue
        no_ts = int(frame["ts"].isna().sum())  # every kept record has a "timestamp"
        if no_ts:
            ctx.stats.nulled["unparseable timestamp"] += no_ts
        is_flow = frame["_event_type"].eq("flow").to_numpy()
        flows, apps = frame[is_flow], frame[~is_flow]
        standalone = apps[apps["uid"].isna()]
        pending = _add_pending(pending, apps[apps["uid"].notna()])
        flows, pending = _join(flows, pending)
        pending, overflow = _trim(pending, ctx.chunksize)
        out = pd.concat([flows, standalone, overflow], ignore_index=True)
        if not out.empty:
            yield conform_events(out)
    if not pending.empty:
        yield conform_events(pending.reset_index(drop=True))


def _keep(batch: list[Record], ctx: ReadContext) -> list[dict[str, Any]]:
    keep: list[dict[str, Any]] = []
    for lineno, rec in batch:
        et = rec.get("event_type")
        if not isinstance(et, str) or "timestamp" not in rec:
            ctx.bad("not an EVE record (no event_type/timestamp)", lineno)
        elif et in EVENT_TYPES:
            keep.append(rec)
        else:
            ctx.stats.nulled[f"ignored event_type {et}"] += 1
    return keep


def _frame(recs: list[dict[str, Any]], sensor: str) -> pd.DataFrame:
    if not recs:
        return pd.DataFrame()
    et = [r["event_type"] for r in recs]
    is_flow = pd.Series([e == "flow" for e in et])
    start = parse_timestamps([_dig(r, ("flow", "start")) for r in recs])
    end = parse_timestamps([_dig(r, ("flow", "end")) for r in recs])
    stamp = parse_timestamps([r.get("timestamp") for r in recs])
    proto = [r.get("proto") for r in recs]
    cols: dict[str, Any] = {
        "_event_type": et,
        "event_type": as_str_array(et),
        "ts": start.where(is_flow & start.notna(), stamp),
        "src_ip": as_str_array(r.get("src_ip") for r in recs),
        "src_port": as_int_array((r.get("src_port") for r in recs), "UInt16"),
        "dst_ip": as_str_array(r.get("dest_ip") for r in recs),
        "dst_port": as_int_array((r.get("dest_port") for r in recs), "UInt16"),
        "proto": pd.Series(
            [
                _PROTOS.get(p.lower(), "unknown_transport") if isinstance(p, str) else None
                for p in proto
            ],
            dtype="object",
        ),  # fmt: skip
        "duration": ((end - start).dt.total_seconds()).where(is_flow).astype("Float64"),
        "service": as_str_array(_service(r) for r in recs),
        "uid": as_str_array(r.get("flow_id") for r in recs),
        "sensor": as_str_array(r.get("host") or sensor for r in recs),
    }
    flow_cols = {
        "pkts_out": "pkts_toserver", "pkts_in": "pkts_toclient",
        "ip_bytes_out": "bytes_toserver", "ip_bytes_in": "bytes_toclient",
    }  # fmt: skip
    for col, key in flow_cols.items():
        cols[col] = as_int_array(_dig(r, ("flow", key)) for r in recs)
    for col, path in _APP_PATHS.items():
        cols[col] = as_str_array(_dig(r, path) for r in recs)
    cols["conn_state"] = pd.Series([_conn_state(r) for r in recs], dtype="object")
    df = pd.DataFrame(cols)
    df["source"] = "suricata"
    return df


def _dig(obj: Any, path: tuple[str, ...]) -> Any:
    """Exact nested lookup: EVE keys are fixed lower-case, so no case folding is needed."""
    for key in path:
        if not isinstance(obj, dict):
            return None
        obj = obj.get(key)
    return obj


def _service(rec: dict[str, Any]) -> str | None:
    ap = rec.get("app_proto")
    if isinstance(ap, str) and ap and ap != "failed":
        return ap
    et = rec.get("event_type")
    return et if et != "flow" else None


def _flags(value: Any) -> int | None:
    if not isinstance(value, str):
        return None
    try:
        return int(value, 16)
    except ValueError:
        return None


def _conn_state(rec: dict[str, Any]) -> str | None:
    """Zeek ``conn_state`` where the flow's TCP flags make it certain, else ``None``."""
    if rec.get("event_type") != "flow" or str(rec.get("proto", "")).upper() != "TCP":
        return None
    tcp = rec.get("tcp")
    if not isinstance(tcp, dict):
        return None
    ts, tc = _flags(tcp.get("tcp_flags_ts")), _flags(tcp.get("tcp_flags_tc"))
    if ts is None or not ts & _SYN:
        return None
    to_client = _dig(rec, ("flow", "pkts_toclient"))
    if tc is None and to_client == 0:
        return "S0"
    if tc is None:
        return None
    if not tc & _SYN and tc & _RST:
        return "REJ"
    if tc & _SYN and ts & _FIN and tc & _FIN and not (ts | tc) & _RST:
        return "SF"
    return None


def _add_pending(pending: pd.DataFrame, apps: pd.DataFrame) -> pd.DataFrame:
    """Buffer app events per flow: one row per ``uid``, first non-null value per column.

    Whole rows are kept so that an app event whose flow never arrives can still be emitted.
    """
    if apps.empty:
        return pending
    new = apps.groupby("uid", sort=False, dropna=True).first().reset_index()
    if pending.empty:
        return new
    again = new["uid"].isin(pending["uid"]).to_numpy()
    if not again.any():  # the usual case: appending is enough
        return pd.concat([pending, new], ignore_index=True)
    seen = pending["uid"].isin(new.loc[again, "uid"]).to_numpy()
    merged = pd.concat([pending[seen], new[again]], ignore_index=True)
    merged = merged.groupby("uid", sort=False).first().reset_index()
    return pd.concat([pending[~seen], merged, new[~again]], ignore_index=True)


def _join(flows: pd.DataFrame, pending: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Fill app columns of ``flows`` from ``pending`` by ``uid``; drop matched pending rows."""
    if flows.empty or pending.empty:
        return flows, pending
    app = pending.set_index("uid")[list(APP_COLUMNS)]
    hit = flows["uid"].isin(app.index)
    if not hit.any():
        return flows, pending
    flows = flows.copy()
    looked = app.reindex(flows["uid"]).reset_index(drop=True)
    looked.index = flows.index
    for col in APP_COLUMNS:
        flows[col] = flows[col].fillna(looked[col].astype(flows[col].dtype))
    matched = set(flows.loc[hit, "uid"])
    return flows, pending[~pending["uid"].isin(matched)]


def _trim(pending: pd.DataFrame, limit: int) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Keep at most ``limit`` buffered flows; the oldest overflow is emitted unjoined."""
    if len(pending) <= limit:
        return pending, pending.iloc[0:0]
    cut = len(pending) - limit
    logger.debug("suricata: %d app events emitted without their flow row", cut)
    return pending.iloc[cut:], pending.iloc[:cut]
