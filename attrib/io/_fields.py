"""Field plumbing shared by the JSON/CSV readers: key lookup, typed columns, client addresses.

Vendor exports differ in key case (Panther and some SIEMs lower-case top-level keys, Sentinel
uses PascalCase, Graph camelCase), so lookups try the exact key first and fall back to a
case-insensitive match. Columns are built per chunk from lists and converted to typed pandas
arrays in one call each; per-value work (address normalisation) runs over unique values only.
"""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

import numpy as np
import orjson
import pandas as pd

from attrib.io._base import ReadContext, utc_ns
from attrib.schema import EVENT_DTYPES, conform_events

__all__ = [
    "as_int_array",
    "events_frame",
    "as_str_array",
    "ci_get",
    "first_of",
    "normalize_client_ip",
    "parse_timestamps",
    "pluck",
    "split_client_ips",
    "unjson",
]

_STR = "string[pyarrow]"
_PORTAL_TS = "%m/%d/%Y, %I:%M:%S.%f %p"


def ci_get(obj: Any, key: str) -> Any:
    """Return ``obj[key]``, matching the key case-insensitively when the exact key is absent.

    Parameters
    ----------
    obj
        A mapping (anything else gives ``None``).
    key
        The key as the vendor documents it.

    Returns
    -------
    object or None
        The value, or ``None`` when absent.
    """
    if not isinstance(obj, dict):  # JSON objects are dicts; an ABC check costs 5x more
        return None
    v = obj.get(key)
    if v is not None or key in obj:
        return v
    # a miss: match case-insensitively through the lower-cased key map of this record's shape
    # (records of one export share their keys, so the map is built once per shape)
    shape = tuple(obj)
    lower = _LOWER_KEYS.get(shape)
    if lower is None:
        if len(_LOWER_KEYS) >= _MAX_SHAPES:
            _LOWER_KEYS.clear()
        lower = {}
        for k in shape:
            if isinstance(k, str):
                lower.setdefault(k.lower(), k)
        _LOWER_KEYS[shape] = lower
    real = lower.get(key.lower())
    return None if real is None else obj.get(real)


#: record shape (its keys, in order) -> lower-cased key -> the first key with that spelling
_LOWER_KEYS: dict[tuple[Any, ...], dict[str, Any]] = {}
_MAX_SHAPES = 4096


def pluck(obj: Any, path: Sequence[str]) -> Any:
    """Follow ``path`` through nested mappings (case-insensitively); ``None`` if a step is absent.

    A step whose value is a JSON-encoded object in a string (Sentinel's ``LocationDetails``,
    ``Status`` in CSV exports) is decoded on the way.

    Parameters
    ----------
    obj
        The record.
    path
        Keys from the outside in.

    Returns
    -------
    object or None
        The leaf value.
    """
    cur = obj
    for step in path:
        if isinstance(cur, str):
            cur = unjson(cur)
        cur = ci_get(cur, step)
        if cur is None:
            return None
    return cur


def first_of(obj: Any, *paths: Sequence[str]) -> Any:
    """Return the first non-empty value among ``paths``.

    Parameters
    ----------
    obj
        The record.
    *paths
        Candidate paths, most specific first.

    Returns
    -------
    object or None
        The first value that is neither ``None`` nor an empty string.
    """
    for p in paths:
        v = pluck(obj, p)
        if v is not None and v != "":
            return v
    return None


def unjson(value: str) -> Any:
    """Decode a JSON object embedded in a string, else return ``None``.

    Parameters
    ----------
    value
        A string that may hold a JSON object.

    Returns
    -------
    object or None
        The decoded mapping, or ``None``.
    """
    s = value.strip()
    if not s.startswith("{"):
        return None
    try:
        out = orjson.loads(s)
    except ValueError:
        return None
    return out if isinstance(out, dict) else None


def as_str_array(values: Iterable[Any]) -> pd.Series:
    """Return a ``string[pyarrow]`` series; empty strings and ``None`` become null.

    Parameters
    ----------
    values
        Raw values (numbers are written as text, e.g. error codes).

    Returns
    -------
    pandas.Series
        Text column.
    """
    out = [None if v is None or v == "" else v if type(v) is str else _text(v) for v in values]
    return pd.Series(out, dtype=_STR)


def _text(v: Any) -> str:
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    if isinstance(v, dict | list):
        return json.dumps(v, separators=(",", ":"))
    return str(v)


def as_int_array(values: Iterable[Any], dtype: str = "Int64") -> pd.Series:
    """Return an integer series; values that are not whole numbers become null.

    Parameters
    ----------
    values
        Raw values (int, numeric strings such as ``"701"``, ``None``).
    dtype
        A pandas nullable integer dtype.

    Returns
    -------
    pandas.Series
        Integer column.
    """
    num = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")
    num = num.where(num.notna() & (num == num.round()))
    if dtype == "UInt16":
        num = num.where((num >= 0) & (num <= 65535))
    return num.astype(dtype)  # type: ignore[call-overload]


def parse_timestamps(values: Sequence[Any]) -> pd.Series:
    """Parse vendor timestamps into UTC; a value without an offset is taken as UTC.

    Handles ISO 8601 with ``Z``, ``+0000`` or ``+00:00`` offsets, a space instead of ``T``, and
    up to nine fractional digits, and the Azure portal's CSV form
    (``7/26/2023, 11:00:20.889 PM``). Unparseable values become ``NaT``.

    Parameters
    ----------
    values
        Timestamp strings (or ``None``).

    Returns
    -------
    pandas.Series
        ``datetime64[ns, UTC]`` values.
    """
    s = pd.Series([None if v is None or v == "" else str(v) for v in values], dtype=object)
    out = pd.to_datetime(s, utc=True, format="ISO8601", errors="coerce")
    retry = out.isna() & s.notna()
    if retry.any():  # Log Analytics portal CSV: "7/26/2023, 11:00:20.889 PM"
        out[retry] = pd.to_datetime(s[retry], utc=True, format=_PORTAL_TS, errors="coerce")
    return utc_ns(out)


def normalize_client_ip(value: Any) -> tuple[str | None, int | None]:
    """Normalise one client address as Microsoft 365 and other providers write it.

    Accepts ``1.2.3.4``, ``1.2.3.4:56789``, ``[2001:db8::1]:443``, ``2001:db8::1``,
    ``::ffff:1.2.3.4`` (returned as ``1.2.3.4``) and zone-less IPv6 in any case.

    Parameters
    ----------
    value
        The raw field value.

    Returns
    -------
    tuple
        ``(address, port)``: the canonical text form of the address (or ``None`` when the value
        is not an address) and the port when one was attached (else ``None``).
    """
    if not isinstance(value, str):
        return None, None
    s = value.strip()
    if not s:
        return None, None
    port: int | None = None
    if s.startswith("["):
        host, sep, rest = s[1:].partition("]")
        if not sep:
            return None, None
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                return None, None
            port = int(rest[1:])
        s = host
    elif s.count(":") == 1:
        s, _, p = s.partition(":")
        if not p.isdigit():
            return None, None
        port = int(p)
    try:
        addr = ipaddress.ip_address(s.partition("%")[0])  # a zone (fe80::1%eth0) is local detail
    except ValueError:
        return None, None
    if port is not None and not 0 <= port <= 65535:
        return None, None
    if isinstance(addr, ipaddress.IPv6Address) and addr.ipv4_mapped is not None:
        return str(addr.ipv4_mapped), port
    return str(addr), port


def split_client_ips(values: Sequence[Any], ctx: ReadContext) -> tuple[pd.Series, pd.Series]:
    """Normalise a column of client addresses (over unique values) into address and port.

    A present value that is not an address is nulled and counted in ``ctx.stats.nulled``
    under ``"invalid client IP"``; an absent one under ``"missing client IP"``.

    Parameters
    ----------
    values
        Raw client address values, one per row.
    ctx
        The read context (for the counts).

    Returns
    -------
    tuple of pandas.Series
        ``(src_ip, src_port)`` as ``string[pyarrow]`` and ``UInt16``.
    """
    raw = pd.Series(
        [v if v is None or isinstance(v, str) else str(v) for v in values], dtype=object
    )
    codes, uniques = pd.factorize(raw)  # null -> code -1
    parsed = [normalize_client_ip(u) for u in uniques]
    ip_u = pd.array([a for a, _ in parsed] + [None], dtype=_STR)  # type: ignore[call-overload]
    port_u = pd.array([p for _, p in parsed] + [None], dtype="UInt16")
    bad_u = np.array(
        [a is None and bool(str(u).strip()) for u, (a, _) in zip(uniques, parsed, strict=True)]
        + [False]
    )
    idx = np.where(codes < 0, len(uniques), codes)
    ips = pd.Series(ip_u.take(idx), dtype=_STR)
    invalid = int(bad_u[idx].sum())
    missing = int(ips.isna().sum()) - invalid
    if missing:
        ctx.stats.nulled["missing client IP"] += missing
    if invalid:
        ctx.stats.nulled["invalid client IP"] += invalid
    return ips, pd.Series(port_u.take(idx), dtype="UInt16")


def events_frame(raw: Mapping[str, Sequence[Any]], ctx: ReadContext, sensor: str) -> pd.DataFrame:
    """Turn per-column raw value lists into a canonical events frame.

    ``ts`` is parsed with :func:`parse_timestamps` (rows without a usable time are kept with
    ``NaT`` and counted in ``ctx.stats.nulled``); ``src_ip`` goes through
    :func:`split_client_ips`, which also fills ``src_port`` when the address carried one.
    Other columns are typed after :data:`attrib.schema.EVENT_DTYPES`.

    Parameters
    ----------
    raw
        Canonical column name -> one raw value per row (all the same length).
    ctx
        The read context (for the counts).
    sensor
        Value of the ``sensor`` column.

    Returns
    -------
    pandas.DataFrame
        Conforming to the canonical schema.
    """
    n = len(next(iter(raw.values()))) if raw else 0
    cols: dict[str, Any] = {}
    for col, values in raw.items():
        dtype = str(EVENT_DTYPES[col])
        if col == "ts":
            cols[col] = parse_timestamps(values)
            _count_bad_ts(values, cols[col], ctx)
        elif col == "src_ip":
            cols["src_ip"], port = split_client_ips(values, ctx)
            cols.setdefault("src_port", port)
        elif dtype in ("Int64", "UInt16"):
            cols[col] = as_int_array(values, dtype)
        elif dtype == "Float64":
            num = pd.to_numeric(pd.Series(list(values), dtype=object), errors="coerce")
            cols[col] = num.astype("Float64")
        elif dtype == _STR:
            cols[col] = as_str_array(values)
        else:
            cols[col] = pd.Series(list(values), dtype=object)
    cols["sensor"] = pd.Series([sensor] * n, dtype=_STR)
    return conform_events(pd.DataFrame(cols))


def _count_bad_ts(values: Sequence[Any], ts: pd.Series, ctx: ReadContext) -> None:
    absent = sum(1 for v in values if v is None or v == "")
    bad = int(ts.isna().sum()) - absent
    if absent:
        ctx.stats.nulled["missing timestamp"] += absent
    if bad:
        ctx.stats.nulled["unparseable timestamp"] += bad
