"""The memory-mapped bundle (enrich/compact.py) answers exactly what the full load answers."""

from __future__ import annotations

import random
from pathlib import Path

import pandas as pd
import pytest

from attrib._paths import default_data_dir
from attrib.enrich.compact import Strings, compact_enricher
from attrib.enrich.enricher import Enricher
from attrib.enrich.single import lookup_one

SPECIAL = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "192.168.1.1", "100.64.1.1", "junk",
           None, "", "[2001:db8::1]:443", "1.2.3[.]4", "185.220.101.1", "73.22.11.5"]  # fmt: skip


@pytest.fixture(scope="module")
def cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("cache")


@pytest.fixture(scope="module")
def full() -> Enricher:
    return Enricher.load(geoip_dir=Path(__file__).parent)  # a folder without .mmdb files


def _sample(n: int, seed: int) -> list[object]:
    rng = random.Random(seed)
    v4 = [".".join(str(rng.randrange(256)) for _ in range(4)) for _ in range(n)]
    v6 = [f"2{rng.randrange(16**3):03x}:{rng.randrange(16**4):x}::{rng.randrange(99)}"
          for _ in range(n // 4)]  # fmt: skip
    return [*SPECIAL, *v4, *v6]


def test_mapped_bulk_lookup_equals_full_load(cache: Path, full: Enricher) -> None:
    m = Enricher.mapped(Path(__file__).parent, cache_dir=cache)
    ips = _sample(30_000, 1)  # above Strings.BULK: both string paths run
    pd.testing.assert_frame_equal(m.lookup(ips), full.lookup(ips))
    pd.testing.assert_frame_equal(m.lookup(ips[:500]), full.lookup(ips[:500]))
    assert m.version == full.version
    assert m.info()["bundle"]["built"] == full.info()["bundle"]["built"]


def test_compact_single_lookup_equals_full_load(cache: Path, full: Enricher) -> None:
    c = compact_enricher(default_data_dir(), cache)
    for ip in _sample(2000, 2):
        assert lookup_one(c, ip) == lookup_one(full, ip), ip  # type: ignore[arg-type]


def test_compiled_once_per_data_version(cache: Path) -> None:
    compact_enricher(default_data_dir(), cache)
    folders = list(cache.glob("bundle-*"))
    assert len(folders) == 1 and (folders[0] / "meta.json").is_file()
    assert not list(cache.glob(".bundle-*"))  # no half-written copy left behind


def test_strings_round_trip(tmp_path: Path) -> None:
    import numpy as np

    vals = np.array(["a", None, "Zürich", "", "x" * 300], dtype=object)
    Strings.save(vals, tmp_path, "s")
    s = Strings.load(tmp_path, "s")
    assert [s[i] for i in range(len(s))] == list(vals)
    assert list(s[np.array([4, 0, 1])]) == ["x" * 300, "a", None]


def test_staged_compile_holds_the_full_loads_arrays(cache: Path, full: Enricher) -> None:
    """The cache is written one table at a time; every array equals the full load's."""
    import numpy as np

    c = compact_enricher(default_data_dir(), cache)
    assert c.version == full.version.split("+")[0]
    for name in ("asn", "country", "city", "tags"):
        a, b = getattr(c.bundle, name), getattr(full.bundle, name)
        for part in ("v4_starts", "v4_values", "v6_starts", "v6_values"):
            x, y = getattr(a, part), getattr(b, part)
            assert x.dtype == y.dtype and np.array_equal(x, y), (name, part)
    assert np.array_equal(c._asn_keys, full._asn_keys)
    for col, want in full._col.items():
        got = c._col[col]
        if want.dtype == object:
            assert [got[i] for i in range(len(want))] == list(want), col
        else:
            assert np.array_equal(np.asarray(got), want), col
    assert list(c.bundle.countries) == list(full.bundle.countries)
    assert list(c.bundle.tag_sets) == [str(v) for v in full.bundle.tag_sets]


def test_ensure_compact_compiles_once_in_a_child(tmp_path: Path) -> None:
    from attrib.enrich.compact import ensure_compact

    assert ensure_compact(cache_dir=tmp_path) is True  # compiled (in a child process)
    assert len(list(tmp_path.glob("bundle-*/meta.json"))) == 1
    assert ensure_compact(cache_dir=tmp_path) is False  # already there: nothing to do
    c = compact_enricher(default_data_dir(), tmp_path)
    assert lookup_one(c, "8.8.8.8")["asn"] == 15169


def test_cache_key_follows_the_tables_not_only_version_json(tmp_path: Path) -> None:
    """A bundle re-derived in place (same VERSION.json) must not reuse the old compiled copy."""
    import os
    import shutil

    from attrib.enrich.compact import _cache_key

    data = tmp_path / "data"
    (data / "enrich").mkdir(parents=True)
    shutil.copy(default_data_dir() / "VERSION.json", data / "VERSION.json")
    table = data / "enrich" / "asn_features.parquet"
    table.write_bytes(b"x" * 10)
    k1 = _cache_key(data)
    assert _cache_key(data) == k1  # stable
    table.write_bytes(b"y" * 11)
    k2 = _cache_key(data)
    st = table.stat()
    os.utime(table, ns=(st.st_atime_ns, st.st_mtime_ns + 1_000_000_000))
    assert len({k1, k2, _cache_key(data)}) == 3
