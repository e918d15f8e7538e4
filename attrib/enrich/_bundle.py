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

from attrib.enrich._index import RangeIndex, v6_keys
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
        files = self.version.get("files", {})
        h = hashlib.sha256(json.dumps(files, sort_keys=True).encode()).hexdigest()[:12]
        return f"{self.version.get('built', 'unknown')[:10]}-{h}"


def obj_array(s: pd.Series) -> np.ndarray:
    """A Series as an object array with ``None`` for missing values."""
    return np.asarray(s.astype(object).where(s.notna(), None).to_numpy(), dtype=object)


def side_columns(bundle: Bundle) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    """The sorted ASN keys and the side columns the lookups index, as plain numpy arrays.

    Converting per lookup costs ~0.5 s, so an Enricher does it once (and
    :mod:`attrib.enrich.compact` stores the result).
    """
    info, locs = bundle.asn_info, bundle.locations
    cols = {
        "org": obj_array(info["org"]),
        "net_type": obj_array(info["net_type"].astype(str)),
        "conf": info["net_type_confidence"].to_numpy(dtype=np.float64),
        "evid": obj_array(info["net_type_evidence"]),
        "vpn": info["in_vpn_list"].to_numpy(dtype=bool),
        "city": obj_array(locs["city"]),
        "loc_cc": obj_array(locs["country"]),
        "lat": locs["lat"].to_numpy(dtype=np.float64),
        "lon": locs["lon"].to_numpy(dtype=np.float64),
    }
    return info["asn"].to_numpy(dtype=np.int64), cols


def _read(path: Path, name: str) -> pd.DataFrame:
    p = path / "enrich" / f"{name}.parquet"
    try:
        return pq.read_table(p).to_pandas()
    except FileNotFoundError:
        raise DataError(
            f"{p}: bundled enrichment table missing (run `attrib data update` or "
            "`python scripts/build_data.py`)"
        ) from None
    except Exception as exc:  # pyarrow raises a zoo of types on corrupt files
        raise DataError(f"{p}: bundled enrichment table unreadable: {exc}") from None


def _index(path: Path, base: str, v4_only: bool = False) -> RangeIndex:
    t4 = _read(path, f"{base}_v4")
    idx = RangeIndex.empty()
    idx.v4_starts = t4["start"].to_numpy(dtype=np.uint32)
    idx.v4_values = t4["value"].to_numpy(dtype=np.int32)
    if not v4_only or (path / "enrich" / f"{base}_v6.parquet").exists():
        t6 = _read(path, f"{base}_v6")
        idx.v6_starts = v6_keys(t6["hi"].to_numpy(np.uint64), t6["lo"].to_numpy(np.uint64))
        idx.v6_values = t6["value"].to_numpy(dtype=np.int32)
    if (
        len(idx.v4_starts) == 0
        or idx.v4_starts[0] != 0
        or np.any(np.diff(idx.v4_starts.astype(np.int64)) <= 0)
    ):
        raise DataError(f"{path / 'enrich' / base}_v4.parquet: segment starts not sorted from 0")
    return idx


def load_bundle(path: Path) -> Bundle:
    """Load and check the bundle in ``path`` (a ``data/`` folder).

    Raises
    ------
    attrib.errors.DataError
        A table or ``VERSION.json`` is missing or unreadable.
    """
    vpath = path / "VERSION.json"
    try:
        version = json.loads(vpath.read_text())
    except FileNotFoundError:
        raise DataError(f"{vpath}: bundled data missing (no VERSION.json)") from None
    except (OSError, ValueError) as exc:
        raise DataError(f"{vpath}: unreadable: {exc}") from None
    info = _read(path, "asn_info")
    info["net_type_confidence"] = info["net_type_confidence"].astype(np.float64).round(2)
    locs = _read(path, "locations")
    for c in ("lat", "lon"):  # stored as float32; 4 decimals is what was kept
        locs[c] = locs[c].astype(np.float64).round(4)
    b = Bundle(
        path=path,
        version=version,
        asn=_index(path, "asn"),
        asn_info=info,
        country=_index(path, "country"),
        countries=_read(path, "countries")["country"].to_numpy(dtype=object),
        city=_index(path, "city", v4_only=True),
        locations=locs,
        tags=_index(path, "tags"),
        tag_sets=_read(path, "tag_sets")["tags"].to_numpy(dtype=object),
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
