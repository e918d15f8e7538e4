import os
import signal
import sqlite3
import subprocess
import sys
import textwrap
import threading
import time

import pandas as pd
import pytest
from attrib_tables import make_clusters, make_days, make_origins

from attrib.errors import StoreError
from attrib.store import LOOKUP_COLUMNS, SightingsStore


def _snapshot(path):
    c = sqlite3.connect(path)
    try:
        return {
            t: c.execute(f"SELECT * FROM {t} ORDER BY 1, 2").fetchall()
            for t in ("runs", "sightings", "origins", "clusters")
        }
    finally:
        c.close()


@pytest.fixture()
def store(tmp_path):
    s = SightingsStore(tmp_path / "s.db")
    yield s
    s.close()


def test_append_and_lookup(store):
    o = make_origins()
    store.append_run("r1", o, make_clusters(o), {"inputs": ["x"]}, days=make_days(o))
    got = store.lookup(["198.51.100.10", "10.9.9.9", "203.0.113.77"])
    assert list(got.columns) == list(LOOKUP_COLUMNS)
    assert list(got["ip"]) == ["198.51.100.10", "10.9.9.9", "203.0.113.77"]
    assert got.loc[0, "cluster"] == "C1" and got.loc[0, "runs"] == 1
    assert got.loc[0, "days_seen"] == 2  # 30 h from midnight spans two UTC days
    assert got.loc[1, "days_seen"] == 0 and pd.isna(got.loc[1, "cluster"])
    assert got.loc[2, "score"] == pytest.approx(0.81)
    assert got.loc[0, "first_seen"] == pd.Timestamp("2026-03-02", tz="UTC")
    assert store.info()["runs"] == 1 and store.info()["origins"] == len(o)


def test_history_spans_runs(store):
    o1 = make_origins(day0="2026-03-02")
    o2 = make_origins(day0="2026-03-20")
    o2.loc[o2["ip"] == "198.51.100.10", "cluster"] = "C9"
    store.append_run("r1", o1, make_clusters(o1), {}, days=make_days(o1))
    store.append_run("r2", o2, make_clusters(o2), {})
    h = store.history(["198.51.100.10"]).iloc[0]
    assert h["first_seen"] == pd.Timestamp("2026-03-02", tz="UTC")
    assert h["last_seen"] >= pd.Timestamp("2026-03-20", tz="UTC")
    assert h["runs"] == 2 and h["cluster"] == "C9" and h["last_run"] == "r2"
    assert len(store.history()) == len(o1)


def test_duplicate_run_refused_and_nothing_changes(store):
    o = make_origins()
    store.append_run("r1", o, make_clusters(o), {})
    before = _snapshot(store.path)
    with pytest.raises(StoreError, match="already stored"):
        store.append_run("r1", o, make_clusters(o), {})
    assert _snapshot(store.path) == before


def test_failure_mid_transaction_rolls_back(store, monkeypatch):
    o = make_origins()
    store.append_run("r1", o, make_clusters(o), {})
    before = _snapshot(store.path)

    def boom(c, day_rows, origin_rows, cluster_rows):
        c.executemany("INSERT INTO origins VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)", origin_rows)
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "_write_rows", boom)
    with pytest.raises(StoreError, match="no space left"):
        store.append_run("r2", o, make_clusters(o), {})
    assert _snapshot(store.path) == before


def test_prune_and_export(store, tmp_path):
    o1 = make_origins(day0="2026-01-02")
    o2 = make_origins(day0="2026-03-20")
    store.append_run("old", o1, make_clusters(o1), {}, days=make_days(o1))
    store.append_run("new", o2, make_clusters(o2), {}, days=make_days(o2))
    out = store.export(tmp_path / "h.parquet")
    assert len(pd.read_parquet(out)) == len(o1)
    copy = store.export(tmp_path / "copy.db")
    with SightingsStore(copy, read_only=True) as c:
        assert c.info()["runs"] == 2
    n = store.prune("2026-03-01")
    assert n["runs"] == 1 and n["origins"] == len(o1) and n["sightings"] > 0
    assert list(store.runs()["run_id"]) == ["new"]
    assert store.sightings()["day"].min() >= "2026-03-01"


@pytest.mark.parametrize("content", [b"this is not sqlite at all" * 100, b""])
def test_corrupt_or_foreign_file(tmp_path, content):
    p = tmp_path / "bad.db"
    p.write_bytes(content)
    if content:
        with pytest.raises(StoreError) as ei:
            SightingsStore(p)
        msg = str(ei.value)
        assert str(p) in msg and "\n" not in msg
    else:  # an empty file is a fresh store
        SightingsStore(p).close()


def test_foreign_sqlite_refused(tmp_path):
    p = tmp_path / "other.db"
    c = sqlite3.connect(p)
    c.execute("CREATE TABLE t (x)")
    c.commit()
    c.close()
    with pytest.raises(StoreError, match="foreign SQLite"):
        SightingsStore(p)


def test_damaged_pages_detected(tmp_path):
    p = tmp_path / "s.db"
    o = make_origins(n_cluster=300)
    with SightingsStore(p) as s:
        s.append_run("r1", o, make_clusters(o), {"pad": "x" * 5000})
    con = sqlite3.connect(p)
    con.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    con.close()
    data = bytearray(p.read_bytes())
    for i in range(4096 + 200, len(data), 4096):  # scribble over every page but the header
        data[i : i + 64] = b"\xff" * 64
    p.write_bytes(bytes(data))
    with pytest.raises(StoreError) as ei:
        s = SightingsStore(p)
        s.check()
        s.lookup(["198.51.100.10"])
    assert "\n" not in str(ei.value) and str(p) in str(ei.value)


def test_read_only_missing(tmp_path):
    with pytest.raises(StoreError, match="no such"):
        SightingsStore(tmp_path / "none.db", read_only=True)


def test_reader_while_writer_holds_transaction(tmp_path):
    p = tmp_path / "s.db"
    o = make_origins()
    with SightingsStore(p) as s:
        s.append_run("r1", o, make_clusters(o), {})
    writer = SightingsStore(p)
    reader = SightingsStore(p, read_only=True)
    entered, release = threading.Event(), threading.Event()
    real = writer._write_rows

    def slow(c, *rows):
        real(c, *rows)
        entered.set()
        release.wait(10)

    writer._write_rows = slow
    o2 = make_origins(day0="2026-04-01")
    t = threading.Thread(target=writer.append_run, args=("r2", o2, make_clusters(o2), {}))
    t.start()
    assert entered.wait(10)
    t0 = time.monotonic()
    got = reader.lookup(["198.51.100.10"])  # must not block on the open write transaction
    assert time.monotonic() - t0 < 2
    assert got.loc[0, "runs"] == 1  # sees the last committed state only
    assert reader.info()["runs"] == 1
    release.set()
    t.join(10)
    assert reader.lookup(["198.51.100.10"]).loc[0, "runs"] == 2
    writer.close()
    reader.close()


CHILD = textwrap.dedent("""
    import sys, time
    sys.path.insert(0, {tests!r})
    from attrib_tables import make_clusters, make_origins
    from attrib.store import SightingsStore
    s = SightingsStore({path!r})
    s._conn.execute("PRAGMA cache_size=10")  # tiny page cache: uncommitted pages spill to the WAL
    real = s._write_rows
    def slow(c, *rows):
        real(c, *rows)
        print("mid-write", flush=True)
        time.sleep(60)
    s._write_rows = slow
    o = make_origins(n_cluster=5000, day0="2026-05-01")
    s.append_run("killed", o, make_clusters(o), {{"pad": "x" * 100000}})
""")


@pytest.mark.slow
def test_sigkill_during_write_leaves_store_as_before(tmp_path):
    p = tmp_path / "s.db"
    o = make_origins()
    with SightingsStore(p) as s:
        s.append_run("r1", o, make_clusters(o), {})
    before = _snapshot(p)
    code = CHILD.format(tests=os.path.dirname(__file__), path=str(p))
    proc = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        assert line.strip() == "mid-write"
        assert os.path.getsize(f"{p}-wal") > 100_000  # the run's rows were really written
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(10)
    finally:
        proc.kill()
        proc.stdout.close()
    assert proc.returncode == -signal.SIGKILL
    with SightingsStore(p) as s:
        s.check()
        assert list(s.runs()["run_id"]) == ["r1"]
        assert s.lookup(["198.51.100.5000"]).loc[0, "runs"] == 0
    assert _snapshot(p) == before
    with SightingsStore(p) as s:  # and the store still takes new runs
        o2 = make_origins(day0="2026-06-01")
        s.append_run("r2", o2, make_clusters(o2), {})
        assert s.info()["runs"] == 2


def test_store_file_is_private(tmp_path):
    p = tmp_path / "s.db"
    with SightingsStore(p) as s:
        o = make_origins()
        s.append_run("r1", o, make_clusters(o), {}, days=make_days(o))
    assert p.stat().st_mode & 0o777 == 0o600  # sighting history: owner only (was 0644)
    p.chmod(0o644)
    with SightingsStore(p):
        pass
    assert p.stat().st_mode & 0o777 == 0o600  # an existing store of ours is tightened


def test_full_disk_during_a_store_write_keeps_the_store_intact(tmp_path):
    import uuid

    mnt = tmp_path / "tiny"
    mnt.mkdir()
    p = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "size=512k", f"attrib-{uuid.uuid4().hex[:6]}", str(mnt)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    if p.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here (needs root): {p.stderr.strip()}")
    try:
        db = mnt / "s.db"
        small = make_origins(n_cluster=2, n_other=1)
        with SightingsStore(db) as s:
            s.append_run("r1", small, make_clusters(small), {}, days=make_days(small))
        big = make_origins(n_cluster=4000)  # far more than the free space
        with pytest.raises(StoreError) as ei, SightingsStore(db) as s:
            s.append_run("r2", big, make_clusters(big), {}, days=make_days(big))
        assert "\n" not in str(ei.value) and str(db) in str(ei.value)
        with SightingsStore(db) as s:  # the earlier run is whole, the failed one absent
            s.check()
            assert list(s.runs()["run_id"]) == ["r1"]
        con = sqlite3.connect(db)
        assert con.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        con.close()
    finally:
        subprocess.run(["umount", str(mnt)], check=False)
