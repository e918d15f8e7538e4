"""Which Zeek log a set of field names belongs to, and whether its rows carry endpoints.

A Zeek folder holds many log types besides ``conn``: some describe connections (``dns``,
``http``, ``weird``, ... carry ``id.orig_h``/``id.resp_h``), others do not (``x509``, ``files``
before Zeek 6, ``dhcp``, ``arp``, ``software``, ``pe``, ``known_*``, ``stats``, ...). The latter
are recognised here (so a folder as Zeek writes it reads end to end) and their rows are counted
as *unused*, by log type, instead of becoming events without addresses.

The signatures are the field names Zeek's own scripts declare for each log (``Info`` records in
``scripts/base`` and ``scripts/policy``); a JSON record's nested objects are flattened to dotted
names before they are compared.
"""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

__all__: list[str] = []

#: Fields that name a connection endpoint (Zeek's names and the shippers' aliases).
ENDPOINT_FIELDS = frozenset({"id.orig_h", "id.resp_h", "id_orig_h", "id_resp_h", "src", "dst"})

#: (log type, fields that must all be present), most specific first; first match wins.
SIGNATURES: tuple[tuple[str, frozenset[str]], ...] = tuple(
    (name, frozenset(fields.split()))
    for name, fields in (
        ("x509", "certificate.version certificate.serial"),
        ("x509", "fingerprint certificate.subject"),
        ("ocsp", "hashAlgorithm issuerNameHash"),
        ("pe", "machine compile_ts"),
        ("pe", "is_exe is_64bit"),
        ("files", "fuid mime_type"),
        ("files", "fuid seen_bytes"),
        ("files", "fuid analyzers"),
        ("dhcp", "msg_types"),
        ("dhcp", "assigned_addr lease_time"),
        ("arp", "mac_src mac_dst"),
        ("arp", "src_mac dst_mac"),
        ("software", "software_type unparsed_version"),
        ("software", "host software_type"),
        ("known_certs", "issuer_subject serial host"),
        ("known_services", "port_num port_proto service"),
        ("known_hosts", "host"),
        ("capture_loss", "ts_delta percent_lost"),
        ("stats", "pkts_proc mem"),
        ("packet_filter", "filter init success"),
        ("reporter", "level message location"),
        ("notice", "note msg"),
        ("signatures", "sig_id event_msg"),
        ("analyzer", "analyzer_kind analyzer_name"),
        ("dpd", "analyzer failure_reason"),
        ("config", "old_value new_value"),
        ("broker", "ty ev"),
        ("cluster", "node message"),
        ("netcontrol", "rule_id category"),
        ("weird", "name notice peer"),
        ("intel", "seen.indicator"),
        ("conn", "conn_state"),
        ("files", "fuid"),
    )
)


def signature_type(fields: set[str] | frozenset[str]) -> str | None:
    """The Zeek log type whose signature ``fields`` hold, or ``None``.

    Parameters
    ----------
    fields
        Field names (JSON keys flattened to Zeek's dotted names).

    Returns
    -------
    str or None
        A log type such as ``"x509"``.
    """
    for name, need in SIGNATURES:
        if need <= fields:
            return name
    return "loaded_scripts" if fields == {"name"} else None


def has_endpoints(fields: Collection[str]) -> bool:
    """Whether rows with these fields name a connection: an endpoint or a ``uid`` to join on."""
    return "uid" in fields or not ENDPOINT_FIELDS.isdisjoint(fields)


def unused_reason(log_type: str) -> str:
    """The reason recorded for the rows of a log that carries no connection endpoints."""
    return f"{log_type} log: no connection endpoints (id.orig_h/id.resp_h)"


def looks_like_zeek_record(rec: dict[str, Any]) -> bool:
    """Whether one (flattened) JSON object reads as a row of some Zeek log.

    Zeek's JSON writer puts ``ts`` first in every log that has one; a Zeek field naming
    (dotted ``id.orig_h``-style names, or a known log's signature) confirms it.
    """
    keys = list(rec)
    if keys == ["name"] and isinstance(rec["name"], str):  # loaded_scripts has no ts
        return rec["name"].endswith((".zeek", ".bro", ".sig"))
    if not keys or keys[0] != "ts":
        return False
    ts = rec["ts"]
    if isinstance(ts, bool) or not isinstance(ts, int | float | str):
        return False
    fields = set(keys)
    return any("." in k for k in keys) or signature_type(fields) is not None
