"""Loading attrib's bundled enrichment data (``data/enrich/*.parquet`` + ``data/VERSION.json``)."""

from __future__ import annotations

import hashlib
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from attrib.enrich._index import RangeIndex
from attrib.errors import DataError

__all__: list[str] = []

log = logging.getLogger(__name__)

REQUIRED = (
    "asn_v4", "asn_v6", "asn_info", "country_v4", "country_v6", "countries", "city_v4",
    "locations", "tags_v4", "tags_v6", "tag_sets",
)  # fmt: skip


@dataclass
class Bundle:
    """The bundled tables, compiled for lookup."""

    path: Path
    version: dict[str, Any]
    asn: RangeIndex  # values: rows of asn_info
    asn_info: pd.DataFrame
    country: RangeIndex  # values: rows of countries
    countries: np.ndarray
    city: RangeIndex  # values: rows of locations (IPv6 only in bundles that ship city_v6)
    locations: pd.DataFrame
    tags: RangeIndex  # values: rows of tag_sets
    tag_sets: np.ndarray

    @property
    def version_id(self) -> str:
        """Short identifier of the data (build date + checksum prefix)."""
        return version_id(self.version)


def version_id(version: dict[str, Any]) -> str:
    """Short identifier of the data described by ``VERSION.json`` (build date + checksum)."""
    files = version.get("files", {})
    h = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:12]
    return f"{version.get('built', 'unknown')[:10]}-{h}"


def obj_array(s: pd.Series) -> np.ndarray:
    """A Series as an object array with ``None`` for missing values."""
    return np.asarray(s.astype(object).where(s.notna(), None).to_numpy(), dtype=object)


def side_columns(bundle: Bundle) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The sorted ASN keys and the side columns the lookups index, as plain numpy arrays.

    Converting per lookup costs ~0.5 s, so an Enricher does it once (and
    :mod:`attrib.enrich.compact` stores the result).
    """
    return side_columns_of(bundle.asn_info, bundle.locations)


def side_columns_of(
    info: pd.DataFrame, locs: pd.DataFrame
) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """:func:`side_columns` from the two tables (``asn_info``, ``locations``) themselves."""
    keys, cols = asn_columns(info)
    return keys, {**cols, **location_columns(locs)}


def asn_columns(info: pd.DataFrame) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The sorted ASN keys and the per-ASN side columns of ``asn_info``."""
    cols = {
        "org": obj_array(info["org"]),
        "net_type": obj_array(info["net_type"].astype(str)),
        "conf": info["net_type_confidence"].to_numpy(dtype=np.float64),
        "evid": obj_array(info["net_type_evidence"]),
        "vpn": info["in_vpn_list"].to_numpy(dtype=bool),
    }
    return info["asn"].to_numpy(dtype=np.int64), cols


def location_columns(locs: pd.DataFrame) -> dict[str, np.ndarray]:
    """The per-location side columns of ``locations``."""
    return {
        "city": obj_array(locs["city"]),
        "loc_cc": obj_array(locs["country"]),
        "lat": locs["lat"].to_numpy(dtype=np.float64),
        "lon": locs["lon"].to_numpy(dtype=np.float64),
    }


def _read(path: Path, name: str) -> pd.DataFrame:
    f = _parquet(path, name)  # missing or unopenable: a DataError naming the file
    try:
        return f.read().to_pandas()
    except Exception as exc:  # pyarrow raises a zoo of types on corrupt files
        p = path / "enrich" / f"{name}.parquet"
        raise DataError(f"{p}: bundled enrichment table unreadable: {exc}") from None


def _parquet(path: Path, name: str) -> Any:
    p = path / "enrich" / f"{name}.parquet"
    try:
        return pq.ParquetFile(p)
    except FileNotFoundError:
        raise DataError(
            f"{p}: bundled enrichment table missing (run `attrib data update` or "
            "`python scripts/build_data.py`)"
        ) from None
    except Exception as exc:  # pyarrow raises a zoo of types on corrupt files
        raise DataError(f"{p}: bundled enrichment table unreadable: {exc}") from None


def _fill(f: Any, name: str, out: dict[str, np.ndarray]) -> None:
    """Columns of a table straight into (preallocated) numpy arrays, a batch at a time.

    No DataFrame and no whole Arrow table in between: the city index (8M rows) peaks at
    little more than its final ~120 MB instead of ~360 MB.
    """
    at = 0
    try:
        for g in range(f.metadata.num_row_groups):
            part = f.read_row_group(g, columns=list(out), use_threads=False)
            k = part.num_rows
            for c, arr in out.items():
                arr[at : at + k] = part.column(c).to_numpy()
            at += k
            del part
    except Exception as exc:  # pyarrow raises a zoo of types on corrupt files
        raise DataError(f"{name}.parquet: bundled enrichment table unreadable: {exc}") from None
    if at != f.metadata.num_rows:
        raise DataError(f"{name}.parquet: {at} of {f.metadata.num_rows} rows read")


def _index(path: Path, base: str, v4_only: bool = False) -> RangeIndex:
    idx = RangeIndex.empty()
    f = _parquet(path, f"{base}_v4")
    n = f.metadata.num_rows
    idx.v4_starts, idx.v4_values = np.empty(n, np.uint32), np.empty(n, np.int32)
    _fill(f, f"{base}_v4", {"start": idx.v4_starts, "value": idx.v4_values})
    if not v4_only or (path / "enrich" / f"{base}_v6.parquet").exists():
        f = _parquet(path, f"{base}_v6")
        n = f.metadata.num_rows
        keys = np.empty((n, 2), dtype=">u8")  # the layout of v6_keys(hi, lo), filled in place
        idx.v6_values = np.empty(n, np.int32)
        _fill(f, f"{base}_v6", {"hi": keys[:, 0], "lo": keys[:, 1], "value": idx.v6_values})
        idx.v6_starts = keys.view("S16").ravel()
    if (
        len(idx.v4_starts) == 0
        or idx.v4_starts[0] != 0
        or np.any(np.diff(idx.v4_starts.astype(np.int64)) <= 0)
    ):
        raise DataError(f"{path / 'enrich' / base}_v4.parquet: segment starts not sorted from 0")
    return idx


def read_version(path: Path) -> dict[str, Any]:
    """``VERSION.json`` of the bundle in ``path``."""
    vpath = path / "VERSION.json"
    try:
        out: dict[str, Any] = json.loads(vpath.read_text())
    except FileNotFoundError:
        raise DataError(f"{vpath}: bundled data missing (no VERSION.json)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{vpath}: unreadable: {exc}") from None
    return out


def read_asn_info(path: Path) -> pd.DataFrame:
    """The per-ASN table, as lookups use it."""
    info = _read(path, "asn_info")
    info["net_type_confidence"] = info["net_type_confidence"].astype(np.float64).round(2)
    return info


def read_locations(path: Path) -> pd.DataFrame:
    """The city table, as lookups use it."""
    locs = _read(path, "locations")
    for c in ("lat", "lon"):  # stored as float32; 4 decimals is what was kept
        locs[c] = locs[c].astype(np.float64).round(4)
    return locs


def read_index(path: Path, base: str) -> RangeIndex:
    """One range index (``asn``, ``country``, ``city``, ``tags``) as :func:`load_bundle` has it."""
    return _index(path, base, v4_only=base == "city")


def read_values(path: Path, name: str, column: str) -> np.ndarray:
    """A small side table's one column (``countries``/``country``, ``tag_sets``/``tags``)."""
    return _read(path, name)[column].to_numpy(dtype=object)


def load_bundle(path: Path) -> Bundle:
    """Load and check the bundle in ``path`` (a ``data/`` folder).

    Raises
    ------
    attrib.errors.DataError
        A table or ``VERSION.json`` is missing or unreadable.
    """
    version = read_version(path)
    info, locs = read_asn_info(path), read_locations(path)
    b = Bundle(
        path=path,
        version=version,
        asn=read_index(path, "asn"),
        asn_info=info,
        country=read_index(path, "country"),
        countries=read_values(path, "countries", "country"),
        city=read_index(path, "city"),
        locations=locs,
        tags=read_index(path, "tags"),
        tag_sets=read_values(path, "tag_sets", "tags"),
    )
    log.debug("loaded bundle %s (%s)", path, b.version_id)
    return b


def verify_bundle(path: Path) -> list[str]:
    """Check every file listed in ``VERSION.json`` against its sha256; return problems."""
    problems = []
    try:
        version = json.loads((path / "VERSION.json").read_text())
    except (OSError, ValueError) as exc:
        return [f"VERSION.json: {exc}"]
    for rel, meta in version.get("files", {}).items():
        p = path / rel
        if not p.exists():
            problems.append(f"{rel}: missing")
            continue
        h = hashlib.sha256(p.read_bytes()).hexdigest()
        if h != meta.get("sha256"):
            problems.append(f"{rel}: sha256 mismatch")
    return problems
