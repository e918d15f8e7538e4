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

__all__ = [
    "QUICK_MAX",
    "CompactEnricher",
    "Strings",
    "compact_enricher",
    "ensure_compact",
    "quick_lookup",
    "release_pages",
]

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


def _cache_key(data_dir: Path) -> str:
    """The compiled copy's name: the bundle's version, the format, and each table's size/mtime.

    ``VERSION.json`` alone is not enough: a bundle re-derived in place (``scripts/build_data.py``)
    or two checkouts of different bundles sharing one cache folder would otherwise reuse a copy
    compiled from other tables. A stat per table costs microseconds.
    """
    h = hashlib.sha256((data_dir / "VERSION.json").read_bytes() + f"format={FORMAT}".encode())
    enrich = data_dir / "enrich"
    for f in sorted(enrich.glob("*.parquet")) if enrich.is_dir() else ():
        st = f.stat()
        h.update(f"\0{f.name}:{st.st_size}:{st.st_mtime_ns}".encode())
    return h.hexdigest()[:16]


def _trim() -> None:
    """Hand the memory a written table used back to the OS (gc, Arrow's pool, malloc_trim)."""
    import gc
    import sys

    gc.collect()
    pa = sys.modules.get("pyarrow")
    if pa is not None:
        pa.default_memory_pool().release_unused()
    if sys.platform.startswith("linux"):
        import ctypes

        try:
            ctypes.CDLL(None).malloc_trim(0)
        except (OSError, AttributeError):  # not glibc
            pass


def _write_index(data_dir: Path, name: str, folder: Path) -> None:
    """One range index's four ``.npy`` files, written row group by row group.

    The files are what ``np.save`` writes of :func:`attrib.enrich._bundle.read_index`'s arrays
    (same header, same bytes), without holding them: the city index is ~120 MB.
    """
    from attrib.enrich import _bundle as B
    from attrib.enrich._index import RangeIndex
    from attrib.errors import DataError

    f4 = B._parquet(data_dir, f"{name}_v4")
    n4 = f4.metadata.num_rows
    unsorted = DataError(
        f"{data_dir / 'enrich' / name}_v4.parquet: segment starts not sorted from 0"
    )
    last = -1
    with (
        _Npy(folder / f"{name}.v4_starts.npy", np.uint32, n4) as st,
        _Npy(folder / f"{name}.v4_values.npy", np.int32, n4) as va,
    ):
        for g in range(f4.metadata.num_row_groups):
            t = f4.read_row_group(g, columns=["start", "value"], use_threads=False)
            starts = t.column("start").to_numpy().astype(np.uint32, copy=False)
            if not _continues(starts.astype(np.int64), last):
                raise unsorted
            last = int(starts[-1]) if len(starts) else last
            st.write(starts)
            va.write(t.column("value").to_numpy().astype(np.int32, copy=False))
    if last < 0:
        raise unsorted
    if name == "city" and not (data_dir / "enrich" / f"{name}_v6.parquet").exists():
        empty = RangeIndex.empty()
        np.save(folder / f"{name}.v6_starts.npy", np.ascontiguousarray(empty.v6_starts))
        np.save(folder / f"{name}.v6_values.npy", np.ascontiguousarray(empty.v6_values))
        return
    f6 = B._parquet(data_dir, f"{name}_v6")
    n6 = f6.metadata.num_rows
    with (
        _Npy(folder / f"{name}.v6_starts.npy", np.dtype("S16"), n6) as st,
        _Npy(folder / f"{name}.v6_values.npy", np.int32, n6) as va,
    ):
        for g in range(f6.metadata.num_row_groups):
            t = f6.read_row_group(g, columns=["hi", "lo", "value"], use_threads=False)
            keys = np.empty((t.num_rows, 2), dtype=">u8")
            keys[:, 0] = t.column("hi").to_numpy()
            keys[:, 1] = t.column("lo").to_numpy()
            st.write(keys.view("S16").ravel())
            va.write(t.column("value").to_numpy().astype(np.int32, copy=False))


def _continues(starts: np.ndarray, last: int) -> bool:
    """Whether a row group's starts rise strictly and carry on from ``last`` (-1: from 0)."""
    if len(starts) == 0:
        return last >= 0
    first_ok = starts[0] == 0 if last < 0 else starts[0] > last
    return bool(first_ok) and not np.any(np.diff(starts) <= 0)


class _Npy:
    """A 1-D ``.npy`` file written in pieces (the header ``np.save`` would write, then data)."""

    def __init__(self, path: Path, dtype: Any, n: int) -> None:
        self.path, self.dtype, self.n, self.got = path, np.dtype(dtype), n, 0

    def __enter__(self) -> _Npy:
        self.fh = open(self.path, "wb")  # noqa: SIM115 - closed in __exit__
        header = {"descr": np.lib.format.dtype_to_descr(self.dtype), "fortran_order": False,
                  "shape": (self.n,)}  # fmt: skip
        np.lib.format.write_array_header_1_0(self.fh, header)
        return self

    def write(self, a: np.ndarray) -> None:
        self.fh.write(np.ascontiguousarray(a, dtype=self.dtype).tobytes())
        self.got += len(a)

    def __exit__(self, *exc: object) -> None:
        self.fh.close()
        if exc[0] is None and self.got != self.n:
            from attrib.errors import DataError

            raise DataError(f"{self.path.name}: {self.got} of {self.n} rows written")


def _write_staged(data_dir: Path, folder: Path) -> None:
    """The compact form, written one table at a time (~250 MB less at peak).

    The full Enricher holds every table at once (~450 MB); compiling the cache needs each one
    only while it is written, so the first run on a fresh machine stays as light as the next.
    """
    from attrib.enrich import _bundle as B

    version = B.read_version(data_dir)
    for name in _INDEXES:
        _write_index(data_dir, name, folder)
        _trim()
    keys, cols = B.asn_columns(B.read_asn_info(data_dir))
    np.save(folder / "asn_keys.npy", np.ascontiguousarray(keys))
    for c in ("org", "net_type", "evid"):
        Strings.save(cols.pop(c), folder, c)
    for c in ("conf", "vpn"):
        np.save(folder / f"{c}.npy", np.ascontiguousarray(cols.pop(c)))
    del cols
    _trim()
    locs = B.read_locations(data_dir)
    for c, src in (("city", "city"), ("loc_cc", "country")):
        Strings.save(B.obj_array(locs[src]), folder, c)
        _trim()
    for c in ("lat", "lon"):
        np.save(folder / f"{c}.npy", locs[c].to_numpy(dtype=np.float64))
    del locs
    _trim()
    countries = B.read_values(data_dir, "countries", "country")
    meta = {
        "format": FORMAT,
        "version_id": B.version_id(version),
        "countries": [None if v is None else str(v) for v in countries],
        "tag_sets": [str(v) for v in B.read_values(data_dir, "tag_sets", "tags")],
        "version": version,
        "path": str(data_dir),
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
        logger.info("compiling the bundled data for quick lookups into %s", folder)
        cache_dir.mkdir(parents=True, exist_ok=True)
        tmp = Path(tempfile.mkdtemp(prefix=".bundle-", dir=cache_dir))
        try:
            _write_staged(data_dir, tmp)
            try:
                tmp.rename(folder)
            except OSError:  # another process finished first: use its copy
                if not (folder / "meta.json").is_file():
                    raise
        finally:
            shutil.rmtree(tmp, ignore_errors=True)
    return CompactEnricher(folder)


def ensure_compact(data_dir: Path | None = None, cache_dir: Path | None = None) -> bool:
    """Compile the compact bundle now if it is missing; True if it had to be compiled.

    A batch run calls this before it imports its heavy parts. The compile (one table at a
    time, ~370 MB at peak with pandas and pyarrow loaded) runs in a child process, so what it
    allocated is gone when the run starts: the first run on a fresh machine is as light as the
    next. If the child fails, the compile is retried here (and raises the one-line error).

    Parameters
    ----------
    data_dir, cache_dir
        As for :func:`compact_enricher` (default: the bundled data, the user's cache folder).

    Returns
    -------
    bool
        Whether the cache was compiled by this call.
    """
    from attrib._paths import default_data_dir, user_cache_dir

    data_dir = data_dir or default_data_dir()
    cache_dir = cache_dir or user_cache_dir()
    try:
        folder = cache_dir / f"bundle-{_cache_key(data_dir)}"
        if (folder / "meta.json").is_file():
            return False
        import subprocess
        import sys

        code = (
            "import sys; from pathlib import Path; from attrib.enrich.compact import "
            "compact_enricher; compact_enricher(Path(sys.argv[1]), Path(sys.argv[2]))"
        )
        argv = [sys.executable, "-c", code, str(data_dir), str(cache_dir)]
        done = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, check=False)
        if done.returncode != 0 or not (folder / "meta.json").is_file():
            compact_enricher(data_dir, cache_dir)
            _trim()
    except OSError as exc:  # unwritable cache or no bundle: the run's own loader says why
        logger.debug("compact bundle not compiled: %s", exc)
        return False
    return True


def release_pages(enricher: Any) -> int:
    """Drop the mapped bundle pages a batch lookup touched from this process's memory.

    A lookup of a few thousand addresses touches most pages of the range indexes (~70 MB,
    counted in the process's resident set); once the batch is answered they are not needed,
    and a later lookup maps them again from the page cache. Returns the number of mappings
    released (0 for a fully loaded Enricher, whose arrays are ordinary memory).
    """
    import mmap

    advice = getattr(mmap, "MADV_DONTNEED", None)
    if advice is None:  # not on this platform: the pages stay, as before
        return 0
    arrays: list[Any] = []
    b = getattr(enricher, "bundle", None)
    for name in _INDEXES:
        idx = getattr(b, name, None)
        arrays += [getattr(idx, p, None) for p in _PARTS]
    arrays.append(getattr(enricher, "_asn_keys", None))
    for v in (getattr(enricher, "_col", None) or {}).values():
        arrays += [v, getattr(v, "_blob", None), getattr(v, "_off", None),
                   getattr(v, "_present", None)]  # fmt: skip
    done = 0
    for a in arrays:
        m = getattr(a, "_mmap", None)
        if isinstance(a, np.memmap) and isinstance(m, mmap.mmap) and not m.closed:
            try:
                m.madvise(advice)
                done += 1
            except (OSError, ValueError):  # refused: the pages stay, as before
                pass
    return done


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
