"""Canonical tables of attrib: column names, dtypes and their Elastic ECS names.

This module is the only place column names are spelled. Three tables flow between stages
(see ``ARCHITECTURE.md``):

* **events** — one row per connection or sign-in/audit event (:data:`EVENT_DTYPES`);
* **origins** — one row per origin IP with enrichment, features and scores
  (:data:`ORIGIN_CORE_COLUMNS` plus the feature columns of :mod:`attrib.features`);
* **clusters** — one row per infrastructure cluster (:data:`CLUSTER_COLUMNS`).

Missing values are nulls (``pd.NA``/``NaT``), never invented defaults.

Importing this module does not import pandas (``attrib enrich 8.8.8.8`` needs names, not
frames): the two dtype mappings holding categorical dtypes, :data:`EVENT_DTYPES` and
:data:`ENRICH_COLUMNS`, are built on first access.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "ASN_FEATURE_COLUMNS",
    "ASN_INFO_COLUMNS",
    "CHAIN_EDGE_COLUMNS",
    "CLUSTER_COLUMNS",
    "CONN_STATES",
    "ECS_EVENT_FIELDS",
    "ECS_ORIGIN_FIELDS",
    "ENRICH_COLUMNS",
    "ENRICH_ECS_FIELDS",
    "ENRICH_NAMES",
    "EVENT_COLUMNS",
    "EVAL_COLUMNS",
    "EVENT_DTYPES",
    "IP_COLUMNS",
    "LABEL_COLUMNS",
    "NET_TYPES",
    "ORIGIN_CORE_COLUMNS",
    "OUTCOMES",
    "PROTOS",
    "SOURCES",
    "STORE_LOOKUP_COLUMNS",
    "TRUTH_CHAIN_COLUMNS",
    "TRUTH_COLUMNS",
    "cluster_members",
    "conform_events",
    "empty_events",
    "plain_value",
    "to_ecs",
]

#: Zeek connection states (``conn_state``) plus null.
CONN_STATES = (
    "S0", "S1", "SF", "REJ", "S2", "S3", "RSTO", "RSTR", "RSTOS0", "RSTRH", "SH", "SHR", "OTH",
)  # fmt: skip
#: Transport protocols as Zeek spells them.
PROTOS = ("tcp", "udp", "icmp", "unknown_transport")
#: Normalised outcome of a sign-in / audit event or connection.
OUTCOMES = ("success", "failure", "other")
#: Which reader produced an event.
SOURCES = (
    "zeek", "pcap", "nfdump", "flow", "suricata",
    "entra", "okta", "m365", "simulated",
)  # fmt: skip
#: Network types assigned by enrichment.
NET_TYPES = (
    "residential", "mobile", "hosting", "cdn", "business", "education", "government", "unknown",
)  # fmt: skip

_STR = "string[pyarrow]"


class _Categories(tuple[str, ...]):
    """The categories of a categorical column (its pandas dtype is built on first access)."""


#: The canonical *events* table: column -> pandas dtype (:data:`EVENT_DTYPES`).
_EVENT_SPEC: dict[str, object] = {
    "ts": "datetime64[ns, UTC]",
    "src_ip": _STR,
    "src_port": "UInt16",
    "dst_ip": _STR,
    "dst_port": "UInt16",
    "proto": _Categories(PROTOS),
    "duration": "Float64",  # seconds
    "bytes_out": "Int64",  # payload bytes originator -> responder (Zeek orig_bytes)
    "bytes_in": "Int64",  # payload bytes responder -> originator (Zeek resp_bytes)
    "pkts_out": "Int64",
    "pkts_in": "Int64",
    "ip_bytes_out": "Int64",
    "ip_bytes_in": "Int64",
    "conn_state": _Categories(CONN_STATES),
    "history": _STR,
    "service": _STR,
    "uid": _STR,
    "user": _STR,  # account (UPN / login) for identity events
    "app": _STR,  # application / client app name
    "event_type": _STR,  # provider operation (UserLoggedIn, MailItemsAccessed, ...)
    "user_agent": _STR,
    "outcome": _Categories(OUTCOMES),
    "error_code": _STR,  # provider error/status code as text (Entra errorCode, Okta reason)
    "ja3": _STR,
    "ja4": _STR,
    "ja4s": _STR,
    "tls_sni": _STR,
    "tls_version": _STR,
    "hassh": _STR,
    "ssh_client": _STR,
    "tcp_fp": _STR,  # compact SYN traits (see attrib.io.pcap)
    "tcp_os": _STR,  # OS family guessed from the SYN
    "tunnel_hint": _STR,  # MSS/MTU hint: pppoe, vpn, tunnel, ...
    "rtt_syn_ms": "Float64",  # SYN -> SYN-ACK seen at the capture point
    "rtt_ack_ms": "Float64",  # SYN-ACK -> ACK
    "rtt_app_ms": "Float64",  # application-layer RTT (TLS server flight -> client flight)
    # identity / audit detail (null for connections): what a token-abuse analysis joins on
    "app_id": _STR,  # client application id (Entra appId, M365 AppId, Graph AppId)
    "client_app_id": _STR,  # M365 ClientAppId (the app acting for AppId, e.g. a first-party UI)
    "session_id": _STR,  # Entra SessionId, M365 SessionId, Okta externalSessionId
    "correlation_id": _STR,  # Entra / audit CorrelationId
    "token_id": _STR,  # Entra UniqueTokenIdentifier; Graph activity SignInActivityId
    "token_type": _STR,  # Entra incomingTokenType (primaryRefreshToken, saml11, none, ...)
    "token_issuer": _STR,  # Entra tokenIssuerType (AzureAD, ADFederationServices, ...)
    "auth_details": _STR,  # Entra authenticationProcessingDetails as compact key=value text
    "resource_id": _STR,  # resource signed in to (Entra resourceId / ResourceIdentity)
    "signin_kind": _STR,  # interactive, non_interactive, service_principal, managed_identity
    "mailbox": _STR,  # mailbox read (M365 MailboxOwnerUPN)
    "access_type": _STR,  # M365 MailAccessType (Bind, Sync); "GraphMail" for Graph mail reads
    "op_count": "Int64",  # M365 OperationCount (aggregated operations in the record)
    "item_count": "Int64",  # items listed under Folders[].FolderItems (mail records)
    "client_info": _STR,  # M365 ClientInfoString
    "prov_asn": "Int64",  # provider hints: Okta securityContext, Entra autonomousSystemNumber
    "prov_as_org": _STR,
    "prov_country": _STR,
    "prov_city": _STR,
    "prov_lat": "Float64",
    "prov_lon": "Float64",
    "source": _Categories(SOURCES),
    "sensor": _STR,  # file or sensor the row came from
}
EVENT_COLUMNS: tuple[str, ...] = tuple(_EVENT_SPEC)

#: Our event column -> Elastic ECS field.
ECS_EVENT_FIELDS: dict[str, str] = {
    "ts": "@timestamp",
    "src_ip": "source.ip",
    "src_port": "source.port",
    "dst_ip": "destination.ip",
    "dst_port": "destination.port",
    "proto": "network.transport",
    "duration": "event.duration",  # ECS wants nanoseconds: to_ecs converts
    "bytes_out": "source.bytes",
    "bytes_in": "destination.bytes",
    "pkts_out": "source.packets",
    "pkts_in": "destination.packets",
    "conn_state": "zeek.connection.state",
    "history": "zeek.connection.history",
    "service": "network.protocol",
    "uid": "event.id",
    "user": "user.name",
    "app": "service.name",
    "event_type": "event.action",
    "user_agent": "user_agent.original",
    "outcome": "event.outcome",
    "error_code": "error.code",
    "ja3": "tls.client.ja3",
    "ja4": "tls.client.ja4",
    "ja4s": "tls.server.ja4s",
    "tls_sni": "tls.client.server_name",
    "tls_version": "tls.version",
    "hassh": "ssh.client.hassh",
    "ssh_client": "ssh.client.software",
    "source": "event.module",
    "sensor": "observer.name",
}

#: Enrichment columns (canonical name -> dtype, :data:`ENRICH_COLUMNS`), from :mod:`attrib.enrich`.
_ENRICH_SPEC: dict[str, object] = {
    "asn": "Int64",
    "as_org": _STR,
    "country": _STR,  # ISO 3166-1 alpha-2
    "city": _STR,
    "lat": "Float64",
    "lon": "Float64",
    "net_type": _Categories(NET_TYPES),
    "net_type_confidence": "Float64",
    "net_type_evidence": _STR,
    "tags": _STR,  # comma-separated: private, cgnat, tor_exit, private_relay, cloud, vpn, ...
}
#: The enrichment column names, in order (the keys of :data:`ENRICH_COLUMNS`).
ENRICH_NAMES: tuple[str, ...] = tuple(_ENRICH_SPEC)

if TYPE_CHECKING:
    #: The canonical *events* table: column -> pandas dtype.
    EVENT_DTYPES: dict[str, object]
    #: Enrichment columns (canonical name -> pandas dtype), produced by :mod:`attrib.enrich`.
    ENRICH_COLUMNS: dict[str, object]

_SPECS = {"EVENT_DTYPES": _EVENT_SPEC, "ENRICH_COLUMNS": _ENRICH_SPEC}


def __getattr__(name: str) -> Any:
    if name in globals():  # built already (module code calls this for its own use)
        return globals()[name]
    spec = _SPECS.get(name)
    if spec is None:
        raise AttributeError(f"module 'attrib.schema' has no attribute {name!r}")
    import pandas as pd

    value = {k: pd.CategoricalDtype(list(v)) if isinstance(v, _Categories) else v
             for k, v in spec.items()}  # fmt: skip
    globals()[name] = value
    return value


#: Enrichment column -> ECS field (what ``attrib.enrich()`` and the API return).
ENRICH_ECS_FIELDS: dict[str, str] = {
    "ip": "source.ip",
    "asn": "source.as.number",
    "as_org": "source.as.organization.name",
    "country": "source.geo.country_iso_code",
    "city": "source.geo.city_name",
    "lat": "source.geo.location.lat",
    "lon": "source.geo.location.lon",
    "net_type": "attrib.net_type",
    "net_type_confidence": "attrib.net_type_confidence",
    "net_type_evidence": "attrib.net_type_evidence",
    "tags": "attrib.tags",
}

#: Columns every origins table carries (feature columns come on top).
ORIGIN_CORE_COLUMNS: tuple[str, ...] = (
    "ip", "score", "rank", "cluster", "asn", "as_org", "net_type", "net_type_confidence",
    "country", "city", "lat", "lon", "tags", "first_seen", "last_seen", "reasons",
)  # fmt: skip
#: Origin column -> ECS field for SIEM output.
ECS_ORIGIN_FIELDS: dict[str, str] = {
    **ENRICH_ECS_FIELDS,
    "score": "attrib.score",
    "rank": "attrib.rank",
    "cluster": "attrib.cluster",
    "first_seen": "attrib.first_seen",
    "last_seen": "attrib.last_seen",
    "reasons": "attrib.reasons",
}
#: Columns of the clusters table (``infrastructure``: members share traits; else no score).
CLUSTER_COLUMNS: tuple[str, ...] = (
    "cluster", "size", "members", "first_seen", "last_seen", "shared_traits",
    "asns", "countries", "net_types", "infrastructure", "score",
)  # fmt: skip
#: Columns of the relay-chain edges table (:func:`attrib.cluster.link_chains`).
CHAIN_EDGE_COLUMNS: tuple[str, ...] = (
    "in_src", "relay", "out_dst", "in_uid", "out_uid", "lag_s", "confidence", "in_ts",
)  # fmt: skip
#: Columns of a sightings-store lookup (stable: the HTTP service returns them).
STORE_LOOKUP_COLUMNS: tuple[str, ...] = (
    "ip", "first_seen", "last_seen", "days_seen", "runs", "cluster", "score", "rank",
    "reasons", "asn", "as_org", "country", "net_type", "last_run",
)  # fmt: skip
#: Columns of a simulated scenario's ``truth.parquet`` (first the contract's, then descriptive).
TRUTH_COLUMNS: tuple[str, ...] = (
    "ip", "label", "kind", "campaign", "role", "first_active", "last_active", "lifetime_days",
    "users", "asn", "as_org", "country", "net_type",
)  # fmt: skip
#: Columns of ``truth_chains.parquet``: one row per relay hop of an adversary attempt.
TRUTH_CHAIN_COLUMNS: tuple[str, ...] = (
    "campaign", "attempt", "hop", "in_src", "relay", "out_dst", "ts", "lag_s", "rtt_ms",
    "channel", "in_uid", "out_uid",
)  # fmt: skip
#: Label columns joined onto origins for training and evaluation (:mod:`attrib.score.training`).
LABEL_COLUMNS: tuple[str, ...] = (
    "label", "kind", "campaign", "role", "y", "scenario", "preset", "seed",
)  # fmt: skip
#: Columns of an evaluation's per-scenario, per-method metrics table (and the baseline scores
#: it adds to the origins it ranks).
EVAL_COLUMNS: tuple[str, ...] = (
    "scenario", "preset", "method", "n", "n_adv", "fp_kinds", "baseline_failed_signins",
)  # fmt: skip
#: Per-ASN evidence of the network type (``data/enrich/asn_features.parquet``, built by
#: ``scripts/build_data.py``; the network-type model's inputs).
ASN_FEATURE_COLUMNS: tuple[str, ...] = (
    "asn", "org", "n_addr", "log2_addr", "log2_blocks", "blocks_per_24", "max_block_share",
    "n_cities", "n_countries", "cities_per_24", "points_per_24", "points_per_city", "runs_per_24",
    "countries_per_24", "top_country_share", "geo_outside_whois", "n_whois_countries",
    "whois_country", "log2_v6_segments", "asn_number", "frac_cloud", "frac_dcrange",
    "frac_vpnrange", "frac_tor", "frac_relay", "spread_km", "far_share", "top_city_share",
    "log2_mean_block", "in_datacenter_list", "in_vpn_list", "in_bad_asn_list",
)  # fmt: skip
#: Per-ASN answer shipped in ``data/enrich/asn_info.parquet`` (looked up per address).
ASN_INFO_COLUMNS: tuple[str, ...] = (
    "asn", "org", "in_vpn_list", "net_type", "net_type_confidence", "net_type_evidence",
    "net_type_alt",
)  # fmt: skip
#: Where an address column is guessed when none is named (``enrich()``, ``df.attrib``).
IP_COLUMNS: tuple[str, ...] = (
    "src_ip", "ip", "source.ip", "client_ip", "ipAddress", "ip_address", "address",
)  # fmt: skip


def plain_value(v: Any, timestamp: Callable[[Any], str | None]) -> Any:
    """A table cell as a plain Python value for JSON, SQLite or STIX.

    Parameters
    ----------
    v
        The cell (numpy/pandas scalars, NA/NaN/inf, timestamps, lists or arrays).
    timestamp
        How a timestamp is written as text (each output has its own convention).

    Returns
    -------
    object
        ``None`` for missing, NaN and infinite values; Python scalars; ``timestamp(v)`` for
        timestamps; lists element by element.
    """
    import pandas as pd

    if v is None or v is pd.NA or v is pd.NaT:
        return None
    if isinstance(v, np.generic):
        v = v.item()
    if isinstance(v, float) and (math.isnan(v) or math.isinf(v)):
        return None
    if isinstance(v, pd.Timestamp | datetime):
        return timestamp(v)
    if isinstance(v, list | tuple | np.ndarray):
        return [plain_value(x, timestamp) for x in v]
    return v


def cluster_members(v: object) -> list[str]:
    """The ``members`` of a clusters row as a list (a list, or text split on ``;``/``,``/spaces).

    Parameters
    ----------
    v
        The cell as a plain value: a list, text, or missing (arrays: pass ``.tolist()``).

    Returns
    -------
    list of str
        The member addresses (empty for a missing cell).
    """
    if v is None or type(v).__name__ == "NAType" or (isinstance(v, float) and v != v):
        return []
    if isinstance(v, list | tuple):
        return [str(x) for x in v]
    return str(v).replace(";", " ").replace(",", " ").split()  # also the CSV's space-joined


def empty_events() -> pd.DataFrame:
    """Return an empty events table with the canonical columns and dtypes.

    Returns
    -------
    pandas.DataFrame
        Zero rows, every column of :data:`EVENT_DTYPES`.
    """
    import pandas as pd

    dtypes = __getattr__("EVENT_DTYPES")
    return pd.DataFrame({c: pd.Series([], dtype=t) for c, t in dtypes.items()})


def conform_events(df: pd.DataFrame) -> pd.DataFrame:
    """Return ``df`` with exactly the canonical event columns, in order, with their dtypes.

    Columns the input lacks are added as all-null; extra columns are dropped. Values are
    cast, not invented: a value that cannot be cast raises. A frame that already conforms is
    returned as is (no copy), so chunks from the readers pass through for free.

    Parameters
    ----------
    df
        A frame whose columns use canonical names.

    Returns
    -------
    pandas.DataFrame
        A frame conforming to :data:`EVENT_DTYPES` (``df`` itself if it already did).
    """
    import pandas as pd

    if _conforms(df):
        return df
    n = len(df)
    out: dict[str, pd.Series] = {}
    for col, dtype in __getattr__("EVENT_DTYPES").items():
        if col in df.columns:
            s = df[col]
            if not _same_dtype(s.dtype, dtype):
                if col == "ts" and not isinstance(s.dtype, pd.DatetimeTZDtype):
                    s = pd.to_datetime(s, utc=True)
                else:
                    s = s.astype(dtype)
            out[col] = s.reset_index(drop=True)
        else:
            out[col] = pd.Series(pd.NA, index=range(n), dtype=dtype)
    return pd.DataFrame(out, copy=False)


def _same_dtype(have: object, want: object) -> bool:
    try:
        return bool(have == want)
    except TypeError:
        return str(have) == str(want)


def _conforms(df: pd.DataFrame) -> bool:
    """Whether ``df`` already has exactly the canonical columns, order, dtypes and a range index."""
    import pandas as pd

    if tuple(df.columns) != EVENT_COLUMNS or not isinstance(df.index, pd.RangeIndex):
        return False
    if df.index.start != 0 or df.index.step != 1:
        return False
    dtypes = __getattr__("EVENT_DTYPES")
    return all(_same_dtype(t, dtypes[str(c)]) for c, t in df.dtypes.items())


def to_ecs(df: pd.DataFrame, mapping: Mapping[str, str] | None = None) -> pd.DataFrame:
    """Rename canonical columns to their ECS field names.

    Columns without an ECS name are kept under ``attrib.<name>``. ``duration`` (seconds) is
    converted to ECS ``event.duration`` (nanoseconds).

    Parameters
    ----------
    df
        An events or origins frame.
    mapping
        Column -> ECS field; defaults to events then origin fields.

    Returns
    -------
    pandas.DataFrame
        A new frame with ECS column names.
    """
    m = dict(mapping) if mapping is not None else {**ECS_ORIGIN_FIELDS, **ECS_EVENT_FIELDS}
    out = df.copy()
    if "duration" in out.columns and m.get("duration") == "event.duration":
        out["duration"] = (out["duration"].astype("Float64") * 1e9).round().astype("Int64")
    return out.rename(columns={c: m.get(c, f"attrib.{c}") for c in out.columns})
