"""End to end on the bundled demo scenario: analyze(), outputs, store history, failures."""

import gzip
import json
import os
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from attrib_tables import demo_scenario

import attrib
from attrib.cli import main
from attrib.store import SightingsStore

STAGES = ["read", "enrich", "features", "chains", "cluster", "score", "outputs", "store"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    return demo_scenario(tmp_path_factory)


@pytest.fixture(scope="module")
def demo_run(tmp_path_factory, demo):
    base = tmp_path_factory.mktemp("demo")
    a = attrib.analyze(
        demo, out=base / "out", store=base / "s.db", context=demo / "org.toml", progress=False
    )
    return a, base


def test_outputs_follow_the_batch_contract(demo_run):
    a, base = demo_run
    out = base / "out"
    names = sorted(p.name for p in out.iterdir())
    assert names == sorted(
        [
            "origins.csv",
            "origins.parquet",
            "clusters.csv",
            "origins.ndjson",
            "stix.json",
            "report.html",
            "run.json",
        ]
    )
    o = pd.read_csv(out / "origins.csv")
    for col in (
        "ip",
        "score",
        "rank",
        "cluster",
        "asn",
        "as_org",
        "net_type",
        "country",
        "first_seen",
        "last_seen",
        "reasons",
    ):
        assert col in o.columns, col
    assert list(o["rank"]) == list(range(1, len(o) + 1))
    assert o["score"].between(0, 1).all() and o["score"].is_monotonic_decreasing
    assert len(o) == len(a.origins) == len(pd.read_parquet(out / "origins.parquet"))
    c = pd.read_csv(out / "clusters.csv")
    assert len(c) == len(a.clusters) > 0
    assert set(o["cluster"].dropna()) <= set(c["cluster"].astype(str))
    ndjson = (out / "origins.ndjson").read_text().splitlines()
    assert len(ndjson) == len(o) and json.loads(ndjson[0])["source"]["ip"] == o.loc[0, "ip"]


def test_run_json(demo_run):
    a, base = demo_run
    run = json.loads((base / "out" / "run.json").read_text())
    assert [s["stage"] for s in run["stages"]] == STAGES
    for s in run["stages"]:
        assert s["seconds"] >= 0 and s["peak_rss_mb"] > 0
    # ssl rows are joined onto their conn rows, so events can be fewer than rows read
    assert run["read"]["rows"] >= len(a.events) == run["counts"]["events"] > 0
    assert run["read"]["files"]
    assert all("rows" in f and "skipped" in f for f in run["read"]["files"])
    assert run["versions"]["attrib"] == attrib.__version__
    assert run["data_version"] and run["model_id"]
    assert run["counts"]["origins"] == len(a.origins)
    assert run["context"]["home_countries"]
    assert run["peak_rss_mb"] > 0 and run["wall_seconds"] > 0


def test_scores_separate_truth(demo, demo_run):
    a, _ = demo_run
    truth = pd.read_parquet(demo / "truth.parquet")
    m = a.origins.merge(truth[["ip", "label"]], on="ip")
    assert len(m) > 0.5 * len(a.origins)
    adv = m.loc[m["label"] == "adversary", "score"].mean()
    ben = m.loc[m["label"] == "benign", "score"].mean()
    assert adv > ben


def test_analysis_object(demo_run):
    a, _ = demo_run
    cid = a.top_cluster
    members = a.members(cid)
    assert len(members) >= 2 and members["first_seen"].is_monotonic_increasing
    exp = a.explain(a.origins.iloc[0]["ip"])
    assert len(exp) >= 1
    acc = a.accounts(a.origins["ip"])
    assert {"user", "events", "successes", "failures"} <= set(acc.columns)
    with pytest.raises(KeyError):
        a.explain("192.0.2.254")
    assert "<Analysis" in repr(a)


def test_plots(demo_run):
    pytest.importorskip("matplotlib")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    a, _ = demo_run
    ax = a.plot_map()
    assert len(ax.collections) >= 1
    ax = a.plot_timeline()
    assert len(ax.patches) == len(a.members(a.top_cluster))
    a.plot_graph()
    plt.close("all")


def test_store_history_across_runs(demo, demo_run, tmp_path):
    a, base = demo_run
    store = tmp_path / "s.db"
    shutil.copy(base / "s.db", store)
    a2 = attrib.analyze(demo, store=store, context=demo / "org.toml", progress=False)
    with SightingsStore(store, read_only=True) as s:
        assert s.info()["runs"] == 2
        look = s.lookup(list(a2.origins["ip"].head(5)))
    assert (look["runs"] == 2).all() and (look["days_seen"] >= 1).all()
    assert "prior_days_seen" not in a.origins.columns or a2.origins["prior_days_seen"].max() > 0


def test_dataframe_input_and_accessor(demo, demo_run):
    a, _ = demo_run
    b = a.events.attrib.analyze(context=demo / "org.toml", progress=False)
    assert len(b.origins) == len(a.origins)
    enriched = pd.DataFrame({"ip": ["8.8.8.8", "nope"]}).attrib.enrich()
    assert enriched.loc[0, "asn"] == 15169 and pd.notna(enriched.loc[1, "ip_error"])


def test_cli_summary_and_unreadable_files(demo, tmp_path, capsys):
    src = tmp_path / "in"
    entra = demo / "entra"  # the sign-ins alone keep this run short
    shutil.copytree(entra if entra.is_dir() else demo, src / "logs")
    shutil.copy(demo / "org.toml", src / "org.toml")
    (src / "broken.log.gz").write_bytes(gzip.compress(b"x" * 100)[:20])  # truncated gzip
    (src / "mystery.bin").write_bytes(bytes(range(256)) * 8)
    out = tmp_path / "out"
    rc = main(["analyze", str(src), "--out", str(out), "--config", str(src / "org.toml")])
    cap = capsys.readouterr()
    assert rc == 0, cap.err
    assert "unreadable file(s) skipped" in cap.out and "broken.log.gz" in cap.out
    assert "rank" in cap.out and " 1  " in cap.out
    run = json.loads((out / "run.json").read_text())
    failed = {Path(f["path"]).name for f in run["read"]["failed"]}
    assert {"broken.log.gz", "mystery.bin"} <= failed
    assert not any(Path(f["path"]).name in failed for f in run["read"]["files"])
    rc = main(["analyze", str(demo), "--json", "--until", "2000-01-01"])
    cap = capsys.readouterr()
    assert rc == 0 and json.loads(cap.out)["counts"]["events"] == 0


@pytest.mark.slow
def test_killed_run_loses_nothing(demo, demo_run, tmp_path):
    """SIGKILL a real `attrib analyze` while it writes its outputs: nothing earlier is lost."""
    _, base = demo_run
    out, store = tmp_path / "out", tmp_path / "s.db"
    shutil.copytree(base / "out", out)
    shutil.copy(base / "s.db", store)
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    with SightingsStore(store, read_only=True) as s:
        runs_before = list(s.runs()["run_id"])
    cmd = [
        sys.executable,
        "-m",
        "attrib",
        "-v",
        "analyze",
        str(demo),
        "--out",
        str(out),
        "--store",
        str(store),
        "--config",
        str(demo / "org.toml"),
    ]
    p = subprocess.Popen(cmd, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    try:
        for line in p.stderr:
            if "stage outputs: started" in line:
                os.kill(p.pid, signal.SIGKILL)
                break
        p.wait(60)
    finally:
        p.kill()
        p.stderr.close()
    assert p.returncode == -signal.SIGKILL
    visible = {q.name: q.read_bytes() for q in out.iterdir() if not q.name.startswith(".")}
    assert visible == before  # the earlier complete outputs are untouched
    with SightingsStore(store) as s:
        s.check()
        assert list(s.runs()["run_id"]) == runs_before
    # the next write into the folder removes what the killed run left behind
    a, _ = demo_run
    a.write(out)
    assert not [q for q in out.iterdir() if q.name.startswith(".attrib-run-")]
    assert json.loads((out / "run.json").read_text())["run_id"] == a.meta["run_id"]


def test_streamed_equals_materialised(demo, demo_run, tmp_path):
    """The CLI's bounded-memory path (Zeek join while streaming) gives the same origins."""
    a, _ = demo_run  # ran with a fresh store: same (empty) history as here
    b = attrib.analyze(
        demo,
        context=demo / "org.toml",
        progress=False,
        keep_events=False,
        store=tmp_path / "fresh.db",
    )
    assert b.events.empty and b.meta["mode"] == "streamed" and a.meta["mode"] == "materialised"
    assert b.meta["counts"]["events"] == len(a.events)
    x = a.origins.sort_values("ip").reset_index(drop=True)
    y = b.origins.sort_values("ip").reset_index(drop=True)
    pd.testing.assert_frame_equal(x, y[x.columns])


@pytest.mark.parametrize("keep_events", [True, False])  # materialised and streamed fronts
def test_relay_chains_reach_clusters_stix_and_summary(tmp_path, keep_events):
    """Where one address is seen with both legs (the two_sided case), chains are reported."""
    from attrib.simulate import simulate

    sim = tmp_path / "sim"
    simulate("two_sided", seed=5, out=sim)
    a = attrib.analyze(sim / "relay", out=tmp_path / "out", progress=False,
                       keep_events=keep_events)  # fmt: skip
    chains = a.clusters[a.clusters["cluster"].astype(str).str.startswith("R")]
    assert len(chains) >= 1 and a.meta["counts"]["relay_chains"] == len(chains)
    assert chains["shared_traits"].str.startswith("relay chain").all()
    relay = chains["members"].map(lambda m: str(m).split(";")[1])
    assert relay.nunique() == 1
    stix = json.loads((tmp_path / "out" / "stix.json").read_text())
    names = [o.get("name", "") for o in stix["objects"] if o["type"] == "infrastructure"]
    assert any(n.startswith("attrib relay chain R0001") for n in names)
    assert "relay chains: " in a.summary() and "none found" not in a.summary()


def test_no_relay_says_none_found(demo_run):
    a, _ = demo_run
    assert a.meta["counts"]["relay_chains"] == 0
    assert "relay chains: none found" in a.summary()
