"""The Dask engine on a real two-worker ``dask.distributed`` cluster gives the other engines'
results: the same origins (every column, same order), scores, ranks, clusters and read report.

Float features are compared within a relative 1e-9 (partial sums may be added in another
order); integers, strings, scores' order and ranks exactly.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest

import attrib
from attrib.errors import ConfigError, InputError
from attrib.pipeline._dask import partitions

distributed = pytest.importorskip("distributed")

ROOT = Path(__file__).resolve().parents[2]
DEMO = ROOT / "data" / "samples" / "demo"
RTOL = 1e-9


@pytest.fixture(scope="module")
def scheduler():
    """Two worker processes on this machine, one thread each (never a mock)."""
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                                  dashboard_address=":0") as cluster:  # fmt: skip
        yield cluster.scheduler_address


@pytest.fixture(scope="module")
def scenarios(tmp_path_factory) -> dict[str, tuple[Path, Path | None]]:
    """The demo and ``two_sided`` with their org.toml, ``quiet`` with its context inferred."""
    from attrib.simulate import simulate

    out = {"demo": (DEMO, DEMO / "org.toml")}
    for preset in ("quiet", "two_sided"):
        d = tmp_path_factory.mktemp(preset)
        simulate(preset, seed=3, out=d, users=40, days=3)
        out[preset] = (d, None if preset == "quiet" else d / "org.toml")
    return out


def _same(a: attrib.Analysis, b: attrib.Analysis, chains: bool = True) -> None:
    assert len(a.origins) > 20 and list(a.origins.columns) == list(b.origins.columns)
    pd.testing.assert_frame_equal(a.origins, b.origins, check_exact=False, rtol=RTOL)
    assert a.origins["score"].tolist() == b.origins["score"].tolist()
    assert a.origins["rank"].tolist() == b.origins["rank"].tolist()
    ca, cb = a.clusters, b.clusters
    if not chains:  # the materialised front links chains on every event, the others on legs
        ca, cb = (
            c[~c["shared_traits"].astype(str).str.startswith("relay chain")] for c in (ca, cb)
        )
    pd.testing.assert_frame_equal(ca, cb, check_exact=False, rtol=RTOL)
    assert a.meta["counts"] == b.meta["counts"]
    assert a.meta["direction"] == b.meta["direction"]
    assert a.meta["context"] == b.meta["context"]
    ra, rb = a.read_report.as_dict(), b.read_report.as_dict()
    assert {f["path"]: f for f in ra["files"]} == {f["path"]: f for f in rb["files"]}
    assert (ra["rows"], ra["skipped"], ra["failed"]) == (rb["rows"], rb["skipped"], rb["failed"])
    assert sorted(ra["side_files"]) == sorted(rb["side_files"])


@pytest.mark.slow
@pytest.mark.parametrize("name", ["demo", "quiet", "two_sided"])
def test_memory_stream_and_dask_give_the_same_origins(scenarios, scheduler, name):
    path, ctx = scenarios[name]
    kw = {"context": ctx, "progress": False}
    memory = attrib.analyze(path, engine="memory", **kw)
    stream = attrib.analyze(path, engine="stream", **kw)
    dask = attrib.analyze(path, engine="dask", scheduler=scheduler, **kw)
    assert dask.meta["mode"] == "dask" and stream.meta["mode"] == "streamed"
    read = next(s for s in dask.meta["stages"] if s["stage"] == "read")
    assert read["workers"] == 2 and read["partitions"] >= 3
    _same(stream, memory, chains=False)
    _same(dask, stream)
    if name == "two_sided":
        assert dask.meta["counts"]["chain_edges"] > 0  # the relay-chain pass ran on workers


def test_partitions_keep_the_zeek_join_together_and_split_the_rest(tmp_path):
    for day in ("2026-03-01", "2026-03-02"):
        d = tmp_path / f"day={day}"
        d.mkdir()
        shutil.copy(DEMO / "zeek" / "conn.log.gz", d / "conn.log.gz")
        shutil.copy(DEMO / "zeek" / "ssl.log.gz", d / "ssl.log.gz")
    (tmp_path / "flows").mkdir()
    for k in range(2):
        shutil.copy(DEMO / "entra" / "signins.json.gz", tmp_path / "flows" / f"s{k}.json.gz")
    parts = partitions([tmp_path])
    names = [[Path(f).relative_to(tmp_path).as_posix() for f in p] for p in parts]
    assert names == [
        ["day=2026-03-01/conn.log.gz", "day=2026-03-01/ssl.log.gz"],
        ["day=2026-03-02/conn.log.gz", "day=2026-03-02/ssl.log.gz"],
        ["flows/s0.json.gz"],
        ["flows/s1.json.gz"],
    ]


def test_a_parquet_dataset_partitioned_by_day(tmp_path, scheduler):
    ev = attrib.read([DEMO / "zeek", DEMO / "entra"])
    day = ev["ts"].dt.strftime("%Y-%m-%d")
    for d, rows in ev.groupby(day):
        (tmp_path / f"day={d}").mkdir()
        rows.to_parquet(tmp_path / f"day={d}" / "part-0.parquet", index=False)
    kw = {"context": DEMO / "org.toml", "progress": False}
    stream = attrib.analyze(tmp_path, engine="stream", **kw)
    dask = attrib.analyze(tmp_path, engine="dask", scheduler=scheduler, **kw)
    read = next(s for s in dask.meta["stages"] if s["stage"] == "read")
    assert read["partitions"] == day.nunique() > 1
    assert stream.meta["counts"]["events"] == len(ev)
    _same(dask, stream)


def test_worker_errors_are_one_line_and_unreadable_files_counted(tmp_path, scheduler):
    (tmp_path / "z").mkdir()
    shutil.copy(DEMO / "zeek" / "conn.log.gz", tmp_path / "z" / "conn.log.gz")
    (tmp_path / "z" / "junk.bin").write_bytes(b"\x00\x01 not a log \xff" * 50)
    kw = {"context": DEMO / "org.toml", "progress": False}
    stream = attrib.analyze(tmp_path, engine="stream", **kw)
    dask = attrib.analyze(tmp_path, engine="dask", scheduler=scheduler, **kw)
    assert (
        len(dask.read_report.failed) == 1 and dask.read_report.failed == stream.read_report.failed
    )
    _same(dask, stream)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "conn.log").write_text(_zeek_conn_with_garbage())
    with pytest.raises(InputError, match=r"conn\.log:\d+: more than 10000 bad rows") as exc:
        attrib.analyze(bad, engine="dask", scheduler=scheduler, **kw)
    assert exc.value.__traceback__ is not None and "\n" not in str(exc.value)


def _zeek_conn_with_garbage() -> str:
    import gzip

    lines = gzip.open(DEMO / "zeek" / "conn.log.gz", "rt").read().splitlines()
    header = [ln for ln in lines if ln.startswith("#") and not ln.startswith("#close")]
    rows = [ln for ln in lines if not ln.startswith("#")][:20]
    return "\n".join(header + rows + ["garbage\tx"] * 10_001) + "\n"


def test_cli_engine_dask_and_its_errors(tmp_path, monkeypatch, capsys):
    from attrib.cli import main

    args = ["analyze", str(DEMO / "pcap"), "--engine", "dask", "--workers", "1"]
    assert main([*args, "-o", str(tmp_path / "out")]) == 0
    assert (tmp_path / "out" / "origins.csv").is_file()
    assert "distributed" not in capsys.readouterr().err  # the cluster's own log stays quiet
    assert main(["analyze", str(DEMO / "pcap"), "--scheduler", "tcp://x:1"]) != 0
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "only with --engine dask" in err
    monkeypatch.setattr("attrib.pipeline._dask.CONNECT_TIMEOUT_S", 1)
    with pytest.raises(ConfigError, match="cannot connect"):
        attrib.analyze(DEMO / "pcap", engine="dask", scheduler="tcp://127.0.0.1:9")
    with pytest.raises(ConfigError, match="memory only"):
        attrib.analyze(attrib.read(DEMO / "pcap"), engine="dask")
