"""The bundled data compiled once into memory-mapped arrays, for a few quick lookups.

Loading the bundle (``data/enrich/*.parquet``) into an :class:`~attrib.enrich.Enricher` takes
seconds and some 450 MB: millions of range starts and half a million city names are decoded
and converted. ``attrib enrich 8.8.8.8`` needs a handful of binary searches. This module
writes, on first use, what an Enricher holds for its lookups (range indexes, ASN keys, side
columns) as ``.npy`` files in the user's cache folder (``$XDG_CACHE_HOME/attrib``), one folder
per bundle version; later processes map them read-only, so a lookup touches only the pages
its searches visit. Text columns are one UTF-8 blob plus offsets.

:class:`CompactEnricher` carries the attributes :func:`attrib.enrich.single.lookup_one`
reads, so the single-address rules are the same code for both; it has no user databases (a
caller with ``.mmdb`` files uses the full Enricher).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["QUICK_MAX", "CompactEnricher", "Strings", "compact_enricher", "quick_lookup"]

logger = logging.getLogger(__name__)

#: bump when the layout of the cache changes
FORMAT = 2
#: up to this many addresses, one-at-a-time lookups over the mapped data beat a full load
QUICK_MAX = 2000
_INDEXES = ("asn", "country", "city", "tags")
_PARTS = ("v4_starts", "v4_values", "v6_starts", "v6_values")
_TEXT = ("org", "net_type", "evid", "city", "loc_cc")
_NUM = ("conf", "vpn", "lat", "lon")


class Strings:
    """A read-only sequence of optional strings stored as one UTF-8 blob plus offsets."""

    #: a request for more strings than this decodes the whole column once (bulk lookups)
    BULK = 20_000

    def __init__(self, blob: np.ndarray, offsets: np.ndarray, present: np.ndarray) -> None:
        self._blob = blob
        self._off = offsets
        self._present = present
        self._all: np.ndarray | None = None

    @classmethod
    def save(cls, values: np.ndarray, folder: Path, name: str) -> None:
        """Write ``values`` (objects: ``str`` or ``None``) as three ``.npy`` files."""
        present = np.array([v is not None for v in values], dtype=bool)
        parts = [("" if v is None else str(v)).encode("utf-8") for v in values]
        offsets = np.zeros(len(parts) + 1, dtype=np.int64)
        np.cumsum([len(b) for b in parts], out=offsets[1:])
        np.save(folder / f"{name}.blob.npy", np.frombuffer(b"".join(parts), dtype=np.uint8))
        np.save(folder / f"{name}.off.npy", offsets)
        np.save(folder / f"{name}.present.npy", present)

    @classmethod
    def load(cls, folder: Path, name: str) -> Strings:
        """Map the three files written by :meth:`save`."""
        return cls(*(np.load(folder / f"{name}.{k}.npy", mmap_mode="r")
                     for k in ("blob", "off", "present")))  # fmt: skip

    def __len__(self) -> int:
        return len(self._present)

    def __getitem__(self, i: Any) -> Any:
        """One string (``None`` if missing), or an object array for an index array."""
        if isinstance(i, np.ndarray):
            if self._all is None and i.size > self.BULK:
                self._all = np.array([self[k] for k in range(len(self))], dtype=object)
            if self._all is not None:
                return self._all[i]
            return np.array([self[int(k)] for k in i.ravel()], dtype=object).reshape(i.shape)
        i = int(i)
        if not self._present[i]:
            return None
        return bytes(self._blob[self._off[i] : self._off[i + 1]]).decode("utf-8")


def _index(folder: Path, name: str) -> Any:
    """A :class:`~attrib.enrich._index.RangeIndex` over the mapped arrays."""
    from attrib.enrich._index import RangeIndex

    idx = RangeIndex.empty()
    for p in _PARTS:
        setattr(idx, p, np.load(folder / f"{name}.{p}.npy", mmap_mode="r"))
    return idx


class _Bundle:
    """What the lookups read of a bundle (the range indexes and small side tables)."""

    def __init__(self, folder: Path, meta: dict[str, Any]) -> None:
        for name in _INDEXES:
            setattr(self, name, _index(folder, name))
        self.countries = np.array(meta["countries"], dtype=object)
        self.tag_sets = np.array(meta["tag_sets"], dtype=object)
        self.version_id = meta["version_id"]
        self.version: dict[str, Any] = meta.get("version", {})
        self.path = Path(meta.get("path", ""))


class CompactEnricher:
    """The bundled data, memory-mapped, shaped for :func:`attrib.enrich.single.lookup_one`.

    Parameters
    ----------
    folder
        A folder written by :func:`compact_enricher`.
    """

    user_dbs: tuple[()] = ()
    _rec: tuple[()] = ()

    def __init__(self, folder: Path) -> None:
        meta = json.loads((folder / "meta.json").read_text(encoding="utf-8"))
        self.bundle = _Bundle(folder, meta)
        self.version: str = meta["version_id"]
        self._asn_keys = np.load(folder / "asn_keys.npy", mmap_mode="r")
        self._col: dict[str, Any] = {c: Strings.load(folder, c) for c in _TEXT}
        self._col.update({c: np.load(folder / f"{c}.npy", mmap_mode="r") for c in _NUM})


class _Full:
    """What :func:`_write` reads of a fully loaded bundle."""

    def __init__(self, bundle: Any) -> None:
        from attrib.enrich._bundle import side_columns

        self.bundle = bundle
        self.version = bundle.version_id
        self._asn_keys, self._col = side_columns(bundle)


def _cache_key(data_dir: Path) -> str:
    version = (data_dir / "VERSION.json").read_bytes()
    return hashlib.sha256(version + f"format={FORMAT}".encode()).hexdigest()[:16]


def _write(enricher: Any, folder: Path) -> None:
    b = enricher.bundle
    for name in _INDEXES:
        idx = getattr(b, name)
        for p in _PARTS:
            np.save(folder / f"{name}.{p}.npy", np.ascontiguousarray(getattr(idx, p)))
    np.save(folder / "asn_keys.npy", np.ascontiguousarray(enricher._asn_keys))
    for c in _TEXT:
        Strings.save(enricher._col[c], folder, c)
    for c in _NUM:
        np.save(folder / f"{c}.npy", np.ascontiguousarray(enricher._col[c]))
    meta = {
        "format": FORMAT,
        "version_id": enricher.version,
        "countries": [None if v is None else str(v) for v in b.countries],
        "tag_sets": [str(v) for v in b.tag_sets],
        "version": b.version,
        "path": str(b.path),
    }
    (folder / "meta.json").write_text(json.dumps(meta), encoding="utf-8")


def compact_enricher(data_dir: Path, cache_dir: Path) -> CompactEnricher:
    """The compact form of the bundle in ``data_dir``, compiled into ``cache_dir`` if needed.

    Parameters
    ----------
    data_dir
        The bundled ``data/`` folder (holds ``VERSION.json``).
    cache_dir
        The user's cache folder; the compiled copy goes to ``bundle-<key>/`` inside it, the key
        derived from ``VERSION.json`` (a data update compiles a new copy).

    Returns
    -------
    CompactEnricher
        Ready for :func:`attrib.enrich.single.lookup_one`.

    Raises
    ------
    attrib.errors.DataError
        The bundled data is missing or corrupt (from the one full load that compiles it).
    """
    folder = cache_dir / f"bundle-{_cache_key(data_dir)}"
    if not (folder / "meta.json").is_file():
        from attrib.enrich._bundle import load_bundle

        logger.info("compiling the bundled data for quick lookups into %s", folder)
        full = _Full(load_bundle(data_dir))
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=cache_dir))
        try:
            _write(full, tmp)
            try:
                tmp.rename(folder)
            except OSError:  # another process finished first: use its copy
                if not (folder / "meta.json").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return CompactEnricher(folder)


def quick_lookup(
    values: list[Any],
    *,
    geoip_dir: str | os.PathLike[str] | None,
    data_dir: Path,
    cache_dir: Path,
) -> list[dict[str, Any]] | None:
    """Enrich a few addresses over the compact bundle; ``None`` when the full path is needed.

    Parameters
    ----------
    values
        The addresses, in any form :func:`attrib.enrich.normalize_ips` accepts.
    geoip_dir
        The user's ``.mmdb`` folder (``None``: geoipupdate's standard folders). Any user
        database found means ``None`` (the full Enricher applies their precedence).
    data_dir, cache_dir
        As for :func:`compact_enricher`.

    Returns
    -------
    list of dict or None
        One record per value, as :func:`attrib.enrich.single.lookup_one` returns them; ``None``
        for more than :data:`QUICK_MAX` values or when user databases are present.
    """
    from attrib.enrich._finder import find_mmdb_files
    from attrib.enrich.single import lookup_one

    if len(values) > QUICK_MAX or find_mmdb_files(geoip_dir):
        return None
    enricher = compact_enricher(data_dir, cache_dir)
    return [lookup_one(enricher, v) for v in values]  # type: ignore[arg-type]
