"""Zeek field names -> canonical event columns, and Arrow columns -> a canonical pandas frame.

This is the one place where Zeek's names (``id.orig_h``, ``orig_bytes``, ...) meet ours.
"""

from __future__ import annotations

import mmap
import re
from collections import Counter
from collections.abc import Callable
from typing import Any, cast

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from attrib.io._base import utc_ns
from attrib.io._zeek_logs import signature_type
from attrib.schema import EVENT_DTYPES, SOURCES

__all__: list[str] = []

#: Fields every Zeek log may carry and that map the same way in all of them.
COMMON: dict[str, str] = {
    "ts": "ts",
    "uid": "uid",
    "id.orig_h": "src_ip",
    "id.orig_p": "src_port",
    "id.resp_h": "dst_ip",
    "id.resp_p": "dst_port",
    "proto": "proto",
}
#: Per log type, the fields beyond :data:`COMMON` that we keep.
BY_LOG: dict[str, dict[str, str]] = {
    "conn": {
        "service": "service",
        "duration": "duration",
        "orig_bytes": "bytes_out",
        "resp_bytes": "bytes_in",
        "orig_pkts": "pkts_out",
        "resp_pkts": "pkts_in",
        "orig_ip_bytes": "ip_bytes_out",
        "resp_ip_bytes": "ip_bytes_in",
        "conn_state": "conn_state",
        "history": "history",
    },
    "ssl": {
        "server_name": "tls_sni",
        "version": "tls_version",
        "ja3": "ja3",
        "ja4": "ja4",
        "ja4s": "ja4s",
    },
    "ssh": {"hassh": "hassh", "client": "ssh_client"},
    "http": {"user_agent": "user_agent"},
}
#: Spellings of the connection id written by log shippers or Zeek's field-name map.
ALIASES: dict[str, str] = {
    "id_orig_h": "id.orig_h",
    "id_orig_p": "id.orig_p",
    "id_resp_h": "id.resp_h",
    "id_resp_p": "id.resp_p",
    "src": "id.orig_h",
    "src_port": "id.orig_p",
    "dst": "id.resp_h",
    "dst_port": "id.resp_p",
}
#: Fields naming the sensor (Zeek's ``_system_name`` extension, shippers' ``@system``).
SENSOR_FIELDS = ("_system_name", "@system", "system_name")
#: App-layer log types joined onto their conn row.
APP_LOGS = ("ssl", "ssh", "http")

_TS_DTYPE: Any = EVENT_DTYPES["ts"]
_MASKED = re.compile(r"^X+\.X+$")
_PORT, _INT, _FLOAT, _STR, _CAT, _TS = "port", "int", "float", "str", "cat", "ts"


def kind(col: str) -> str:
    """How a canonical column is converted: ts, port, int, float, cat or str."""
    dt = str(EVENT_DTYPES[col])
    if col == "ts":
        return _TS
    if dt == "UInt16":
        return _PORT
    if dt == "Int64":
        return _INT
    if dt == "Float64":
        return _FLOAT
    if dt == "category":
        return _CAT
    return _STR


def field_map(log_type: str, fields: list[str]) -> dict[str, str]:
    """Zeek field (as written in the file) -> canonical column, for one log type."""
    wanted = {**COMMON, **BY_LOG.get(log_type, {})}
    out: dict[str, str] = {}
    for f in fields:
        name = ALIASES.get(f, f)
        col = wanted.get(name)
        if col is not None and col not in out.values():
            out[f] = col
    return out


def infer_log_type(fields: set[str]) -> str:
    """Guess a Zeek log type from its field names (when no ``#path``/``_path`` says it)."""
    if {"conn_state", "orig_bytes"} & fields or {"history", "orig_pkts"} <= fields:
        return "conn"
    if {"server_name", "cipher", "ja3", "ja4", "ssl_history"} & fields:
        return "ssl"
    if {"hassh", "auth_success", "hasshServer"} & fields or {
        "client",
        "server",
        "version",
    } <= fields:
        return "ssh"
    if {"method", "user_agent", "status_code", "request_body_len"} & fields:
        return "http"
    if {"query", "qtype", "rcode"} & fields:
        return "dns"
    return signature_type(fields) or "unknown"


#: immutable Arrow arrays shared by the chunks of a read, by (what, length)
_SHARED: dict[tuple[str, int], Any] = {}


def _shared(key: str, n: int, make: Callable[[], Any]) -> Any:
    """``make()``, cached by ``(key, n)``.

    Arrow arrays are immutable (pandas replaces, never mutates, Arrow data), so one array can
    back a column in every chunk of that length.
    """
    got = _SHARED.get((key, n))
    if got is None:
        if len(_SHARED) > 16:
            _SHARED.clear()
        got = _SHARED[(key, n)] = make()
    return got


def _repeated(value: str, n: int) -> pa.Array:
    """``value`` ``n`` times as one immutable Arrow array shared by the chunks of a read."""
    return _shared("repeat:" + value, n, lambda: pa.repeat(pa.scalar(value, pa.large_string()), n))


def lazy_zeros(n: int, dtype: str) -> np.ndarray[Any, Any]:
    """A writable zero-filled array whose pages are mapped only when written.

    Large ones come from an anonymous ``mmap`` (4 KiB pages, mapped on first write):
    ``np.zeros`` gets them from ``calloc``, which memsets heap memory that malloc had recycled,
    touching every page even of a column that stays all-null.
    """
    size = n * np.dtype(dtype).itemsize
    if size < 1 << 20:
        return np.zeros(n, dtype)
    return np.frombuffer(mmap.mmap(-1, size), dtype=dtype, count=n)


def null_masked(dtype: Any, n: int) -> Any:
    """An all-null nullable numeric array (``Int64``, ``UInt16``, ``Float64``) of length ``n``.

    Its own writable buffers, since pandas writes into masked arrays in place: the values are
    lazily zeroed (no memory until written), only the mask is filled.
    """
    cls = dtype.construct_array_type()
    return cls(lazy_zeros(n, dtype.numpy_dtype.str), np.ones(n, dtype=bool))


def _null(col: str, n: int) -> pd.Series:
    """An all-null column of ``col``'s canonical dtype, built without per-value work."""
    dtype: Any = pd.api.types.pandas_dtype(EVENT_DTYPES[col])
    k = kind(col)
    if k == _STR:
        text = _shared("null", n, lambda: pa.chunked_array([pa.nulls(n, pa.large_string())]))
        return pd.Series(pd.arrays.ArrowStringArray(text), copy=False)
    if k == _CAT:
        codes = np.full(n, -1, dtype=np.int8)
        return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), copy=False)
    if k in (_FLOAT, _INT, _PORT):
        return pd.Series(null_masked(dtype, n), copy=False)
    return pd.Series(pd.NA, index=range(n), dtype=dtype)


def _as_str(arr: pa.Array, nulled: Counter[str] | None = None) -> pa.Array:
    """Text from text or raw bytes; invalid UTF-8 is replaced with U+FFFD (and counted)."""
    if pa.types.is_string(arr.type) or pa.types.is_large_string(arr.type):
        return arr
    try:
        return arr.cast(pa.large_string())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    vals: list[str | None] = []
    replaced = 0
    for v in arr.to_pylist():
        if v is None or isinstance(v, str):
            vals.append(v)
            continue
        try:
            vals.append(bytes(v).decode("utf-8"))
        except UnicodeDecodeError:
            replaced += 1
            vals.append(bytes(v).decode("utf-8", "replace"))
    if replaced and nulled is not None:
        nulled["invalid utf-8 replaced"] += replaced
    return pa.array(vals, pa.large_string())


def _numeric(arr: pa.Array, target: pa.DataType, col: str, nulled: Counter[str]) -> pa.Array:
    """Cast to a number; values that do not parse become null and are counted."""
    if arr.type == target:
        return arr
    if pa.types.is_integer(arr.type) or pa.types.is_floating(arr.type):
        if pa.types.is_integer(target) and pa.types.is_floating(arr.type):
            bad = pc.fill_null(pc.not_equal(pc.floor(arr), arr), False)
            nbad = int(pc.sum(bad).as_py() or 0)
            if nbad:
                arr = pc.if_else(bad, pa.nulls(len(arr), arr.type), arr)
                nulled[f"invalid {col}"] += nbad
        return arr.cast(target, safe=False)
    s = _as_str(arr)
    try:
        return s.cast(target)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    ser = pd.to_numeric(pd.Series(s.to_pandas(), dtype=object), errors="coerce")
    if pa.types.is_integer(target):
        frac = ser.notna() & (ser != np.floor(ser))
        ser = ser.mask(frac)
    out = pa.array(ser.to_numpy(dtype="float64", na_value=np.nan), pa.float64(), from_pandas=True)
    nbad = int(pc.sum(pc.and_(pc.is_valid(s), pc.is_null(out))).as_py() or 0)
    if nbad:
        nulled[f"invalid {col}"] += nbad
    return out.cast(target, safe=False)


def to_ts(arr: pa.Array, nulled: Counter[str]) -> pd.Series:
    """Zeek time (epoch seconds as number, text, or ISO 8601 text) -> UTC timestamps."""
    if pa.types.is_floating(arr.type) or pa.types.is_integer(arr.type):
        return _from_secs(arr.cast(pa.float64()), nulled)
    s = _as_str(arr)
    try:
        secs = s.cast(pa.float64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return _text_ts(s, nulled)
    return _from_secs(secs, nulled)


def _from_secs(secs: pa.Array, nulled: Counter[str]) -> pd.Series:
    # epoch milliseconds / microseconds (JSON::TS_MILLIS and friends) are far beyond year 5000
    lo, hi = pc.min_max(secs).values()
    if not (lo.is_valid and -9.2e9 <= lo.as_py() and hi.as_py() <= 9.2e9):  # else: all epoch s
        secs = pc.if_else(pc.greater(pc.abs(secs), 1e14), pc.divide(secs, 1e6), secs)
        secs = pc.if_else(pc.greater(pc.abs(secs), 1e11), pc.divide(secs, 1e3), secs)
        out_of_range = pc.fill_null(pc.greater(pc.abs(secs), 9.2e9), False)  # beyond ns range
        bad = int(pc.sum(out_of_range).as_py() or 0)
        if bad:
            nulled["invalid timestamp"] += bad
            secs = pc.if_else(out_of_range, pa.nulls(len(secs), pa.float64()), secs)
    us = pc.round(pc.multiply(secs, 1e6)).cast(pa.int64())
    ts = us.cast(pa.timestamp("us", tz="UTC")).cast(pa.timestamp("ns", tz="UTC"))
    return pd.Series(ts.to_pandas(), dtype=_TS_DTYPE, copy=False)


def _text_ts(s: pa.Array, nulled: Counter[str]) -> pd.Series:
    ser = pd.Series(s.to_pandas(), dtype=object)
    num = pd.to_numeric(ser, errors="coerce")
    iso = ser.where(num.isna() & ser.notna())
    masked = iso.str.match(_MASKED).fillna(False).astype(bool)
    iso = iso.mask(masked)
    out = pd.to_datetime(iso, utc=True, errors="coerce", format="ISO8601")
    out = utc_ns(out) if len(out) else pd.Series([], dtype=_TS_DTYPE)
    from_num = _from_secs(pa.array(num.to_numpy(dtype="float64"), from_pandas=True), nulled)
    out = out.where(out.notna(), from_num)
    if masked.any():
        nulled["masked timestamp"] += int(masked.sum())
    bad = int((ser.notna() & num.isna() & ~masked & out.isna()).sum())
    if bad:
        nulled["invalid timestamp"] += bad
    return out.reset_index(drop=True)


def _categorical(arr: pa.Array, col: str, nulled: Counter[str]) -> pd.Series:
    """Text -> categorical codes in one hash lookup against the (few) canonical categories."""
    dtype: Any = EVENT_DTYPES[col]
    s = _as_str(arr, nulled)
    idx = pc.index_in(s, value_set=pa.array(list(dtype.categories), s.type))
    codes = pc.fill_null(idx, -1).cast(pa.int8()).to_numpy(zero_copy_only=False)
    unknown = int(pc.sum(pc.and_(pc.is_valid(s), pc.is_null(idx))).as_py() or 0)
    if unknown:
        nulled[f"unknown {col}"] += unknown
    return pd.Series(pd.Categorical.from_codes(codes, dtype=dtype), copy=False)


def to_frame(
    cols: dict[str, pa.Array],
    n: int,
    nulled: Counter[str],
    *,
    event_type: pa.Array | str,
    sensor: pa.Array | None = None,
    source: str = "zeek",
) -> pd.DataFrame:
    """Canonical events frame from Arrow columns keyed by canonical names."""
    out: dict[str, pd.Series] = {}
    for col, dtype in EVENT_DTYPES.items():
        arr = cols.get(col)
        if col == "source":
            code = SOURCES.index(source)
            dtype = cast(Any, dtype)
            out[col] = pd.Series(
                pd.Categorical.from_codes(np.full(n, code, "int8"), dtype=dtype), copy=False
            )
            continue
        if col == "event_type":
            arr = _repeated(event_type, n) if isinstance(event_type, str) else event_type
        if col == "sensor":
            arr = sensor
        if arr is None:
            out[col] = _null(col, n)
            continue
        if isinstance(arr, pa.ChunkedArray) and arr.num_chunks == 1:
            arr = arr.chunk(0)
        out[col] = _convert(arr, col, nulled)
    return pd.DataFrame(out, copy=False)


def _convert(arr: pa.Array, col: str, nulled: Counter[str]) -> pd.Series:
    k = kind(col)
    if k == _TS:
        return to_ts(arr, nulled)
    if k == _CAT:
        return _categorical(arr, col, nulled)
    if k == _STR:
        return pd.Series(pd.arrays.ArrowStringArray(_as_str(arr, nulled)), copy=False)
    if k == _PORT:
        num = _numeric(arr, pa.int64(), col, nulled)
        lo, hi = pc.min_max(num).values()
        if lo.is_valid and not (0 <= lo.as_py() and hi.as_py() <= 65535):
            bad = pc.fill_null(pc.or_(pc.less(num, 0), pc.greater(num, 65535)), False)
            nulled[f"invalid {col}"] += int(pc.sum(bad).as_py() or 0)
            num = pc.if_else(bad, pa.nulls(len(num), pa.int64()), num)
        return pd.Series(num.cast(pa.uint16()).to_pandas(types_mapper=_MAPPER.get), copy=False)
    target = pa.int64() if k == _INT else pa.float64()
    return pd.Series(
        _numeric(arr, target, col, nulled).to_pandas(types_mapper=_MAPPER.get), copy=False
    )


_MAPPER = {
    pa.uint16(): pd.UInt16Dtype(),
    pa.int64(): pd.Int64Dtype(),
    pa.float64(): pd.Float64Dtype(),
}
