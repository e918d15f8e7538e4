import json
import os
import sqlite3

import pytest
from attrib_tables import make_clusters, make_days, make_origins

from attrib.cli import main
from attrib.store import SightingsStore


def _one_line_error(capsys, rc, code, *needles):
    err = capsys.readouterr().err
    assert rc == code, err
    assert err.startswith("attrib: error:") and err.count("\n") == 1, err
    assert "Traceback" not in err
    for n in needles:
        assert n in err, err
    return err


def test_help_lists_analyze_and_store(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "analyze" in out and "store" in out
    assert main(["analyze", "--help"]) == 0
    out = capsys.readouterr().out
    for opt in (
        "--out",
        "--config",
        "--since",
        "--until",
        "--model",
        "--store",
        "--geoip-dir",
        "--json",
    ):
        assert opt in out


def test_unwritable_out_fails_before_reading(capsys, tmp_path):
    target = "/proc/attrib-out" if os.geteuid() == 0 else "/attrib-out-not-allowed"
    rc = main(["analyze", str(tmp_path / "missing.log"), "--out", target])
    _one_line_error(capsys, rc, 6, target, "cannot write")


def test_corrupt_store(capsys, tmp_path):
    bad = tmp_path / "s.db"
    bad.write_bytes(b"garbage" * 1000)
    rc = main(["analyze", str(tmp_path), "--store", str(bad)])
    _one_line_error(capsys, rc, 5, str(bad), "not a valid attrib sightings store")
    assert bad.read_bytes() == b"garbage" * 1000  # left as it was


def test_bad_config_and_window(capsys, tmp_path):
    cfg = tmp_path / "org.toml"
    cfg.write_text('home_countries = ["Netherlands"]\n')
    rc = main(["analyze", str(tmp_path), "--config", str(cfg)])
    _one_line_error(capsys, rc, 2, "org.toml", "home_countries")
    rc = main(["analyze", str(tmp_path), "--since", "yesterday-ish"])
    _one_line_error(capsys, rc, 2, "--since")


@pytest.fixture()
def store_file(tmp_path):
    p = tmp_path / "s.db"
    with SightingsStore(p) as s:
        o1 = make_origins(day0="2026-01-05")
        s.append_run("old", o1, make_clusters(o1), {}, days=make_days(o1))
        o2 = make_origins(day0="2026-03-05")
        s.append_run("new", o2, make_clusters(o2), {}, days=make_days(o2))
    return p


def test_store_info_export_prune(capsys, tmp_path, store_file):
    assert main(["store", "info", str(store_file), "--json", "--check"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["runs"] == 2 and info["first_day"] == "2026-01-05"
    assert main(["store", "export", str(store_file), str(tmp_path / "h.csv")]) == 0
    assert (tmp_path / "h.csv").read_text().startswith("ip,first_seen")
    capsys.readouterr()
    assert main(["store", "prune", str(store_file), "--before", "2026-02-01"]) == 0
    assert "1 runs" in capsys.readouterr().out
    assert main(["store", "info", str(store_file)]) == 0
    assert "runs: 1" in capsys.readouterr().out


def test_store_commands_errors(capsys, tmp_path, store_file):
    rc = main(["store", "info", str(tmp_path / "none.db")])
    _one_line_error(capsys, rc, 5, "no such sightings store")
    rc = main(["store", "prune", str(tmp_path / "none.db"), "--before", "2026-01-01"])
    _one_line_error(capsys, rc, 5, "no such sightings store")
    assert not (tmp_path / "none.db").exists()
    rc = main(["store", "prune", str(store_file), "--before", "not a date"])
    _one_line_error(capsys, rc, 5, "not a date")
    other = tmp_path / "other.db"
    c = sqlite3.connect(other)
    c.execute("CREATE TABLE t (x)")
    c.commit()
    c.close()
    rc = main(["store", "info", str(other)])
    _one_line_error(capsys, rc, 5, "foreign SQLite")


def test_only_unreadable_inputs(capsys, tmp_path):
    (tmp_path / "x.bin").write_bytes(bytes(range(256)) * 4)
    (tmp_path / "y.gz").write_bytes(b"\x1f\x8b\x08\x00broken")
    out = tmp_path / "out"
    rc = main(["analyze", str(tmp_path), "--out", str(out)])
    _one_line_error(capsys, rc, 2, "no readable input: 2 file(s) skipped")
    assert not [p for p in out.iterdir()] if out.exists() else True


def test_refused_run_creates_no_output_folder(capsys, tmp_path):
    bad_model = tmp_path / "model.json"
    bad_model.write_text("{not a model")
    out = tmp_path / "new-out"
    rc = main(["analyze", str(tmp_path), "--model", str(bad_model), "--out", str(out)])
    assert rc != 0 and "Traceback" not in capsys.readouterr().err
    assert not out.exists()  # was: an empty folder left behind


def test_out_into_a_foreign_folder_is_refused(capsys, tmp_path):
    out = tmp_path / "docs"
    out.mkdir()
    (out / "report.html").write_text("someone else's report")
    rc = main(["analyze", str(tmp_path / "missing.log"), "--out", str(out)])
    _one_line_error(capsys, rc, 6, "not an attrib output folder")
    assert (out / "report.html").read_text() == "someone else's report"


REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BINETFLOW = os.path.join(REPO, "tests", "data", "flow", "stratosphere.binetflow")
STRATO_MAP = os.path.join(REPO, "data", "mappings", "stratosphere-binetflow.toml")


def test_analyze_takes_format_and_flow_mapping(capsys, tmp_path):
    out = tmp_path / "out"
    rc = main(["analyze", BINETFLOW, "--format", "flow", "--flow-mapping", STRATO_MAP,
               "--out", str(out)])  # fmt: skip
    assert rc == 0, capsys.readouterr().err
    run = json.loads((out / "run.json").read_text())
    (f,) = run["read"]["files"]
    assert (f["format"], f["rows"]) == ("flow", 5)
    assert f["nulled"] == {"invalid src_ip": 1, "invalid dst_ip": 1}
    # without the mapping, the explicitly named file is one clear error
    rc = main(["analyze", BINETFLOW, "--out", str(tmp_path / "o2")])
    _one_line_error(capsys, rc, 2, "--flow-mapping")


def test_analyze_bad_mapping_fails_before_reading(capsys, tmp_path):
    bad = tmp_path / "m.toml"
    bad.write_text("[columns]\ndst_ip = 'x'\n")
    rc = main(["analyze", BINETFLOW, "--format", "flow", "--flow-mapping", str(bad)])
    _one_line_error(capsys, rc, 2, "m.toml", "src_ip")


def test_analyze_reads_what_read_wrote(capsys, tmp_path):
    events = tmp_path / "events.parquet"
    assert main(["read", BINETFLOW, "--format", "flow", "--flow-mapping", STRATO_MAP,
                 "--out", str(events)]) == 0  # fmt: skip
    capsys.readouterr()
    out = tmp_path / "out"
    assert main(["analyze", str(events), "--out", str(out), "--json"]) == 0
    run = json.loads(capsys.readouterr().out)
    assert [(f["format"], f["rows"]) for f in run["read"]["files"]] == [("events", 5)]
    assert run["counts"]["events"] == 5
