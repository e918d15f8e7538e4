"""``attrib simulate`` and parameter overrides."""

from __future__ import annotations

from pathlib import Path

import pytest

from attrib.cli import main
from attrib.errors import ConfigError
from attrib.simulate import PRESETS, SimParams
from attrib.simulate.presets import apply_overrides, preset_params


def test_overrides_convert_and_validate() -> None:
    p = apply_overrides(PRESETS["demo"], {"users": "50", "victim_country": "JP",
                                           "campaign.attempts_per_exit_day": "0.5",
                                           "campaigns.0.relay_countries": "SG,HK",
                                           "two_sided": "true"})  # fmt: skip
    assert p.users == 50 and p.victim_country == "JP" and p.two_sided is True
    assert p.campaigns[0].attempts_per_exit_day == 0.5
    assert p.campaigns[0].relay_countries == ("SG", "HK")
    for bad in ({"nope": "1"}, {"users": "many"}, {"campaign.nope": "1"},
                {"campaigns.5.users": "1"}, {"zeek_format": "xml"},
                {"campaign.exit_home_share": "1.5"}, {"campaign.network": "cloud"}):  # fmt: skip
        with pytest.raises(ConfigError):
            apply_overrides(PRESETS["demo"], bad)
    with pytest.raises(ConfigError):
        preset_params("nope")


def test_presets_cover_the_issue() -> None:
    for name in ("demo", "large", "loud", "quiet", "very_quiet", "victim_us", "victim_jp",
                 "victim_de", "two_sided"):  # fmt: skip
        assert isinstance(PRESETS[name], SimParams)
    quiet = {
        n: PRESETS[n].campaigns[0].attempts_per_exit_day for n in ("loud", "quiet", "very_quiet")
    }
    assert quiet["loud"] > quiet["quiet"] > quiet["very_quiet"]
    assert {PRESETS[n].victim_country for n in ("victim_us", "victim_jp", "victim_de")} == {
        "US",
        "JP",
        "DE",
    }


@pytest.mark.slow
def test_cli_simulate(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "s"
    code = main(["simulate", "--preset", "victim_jp", "--seed", "3", "--out", str(out),
                 "--set", "days=2", "--set", "users=30", "--compress", "gz", "--json"])  # fmt: skip
    assert code == 0
    assert (out / "zeek" / "conn.log.gz").stat().st_size > 0
    assert '"conn_rows"' in capsys.readouterr().out
    from attrib.context import OrgContext

    assert OrgContext.from_toml(out / "org.toml").timezone == "Asia/Tokyo"
    import attrib.io as aio

    rep = aio.ReadReport()
    aio.read([out / "zeek", out / "entra", out / "m365"], report=rep)
    assert rep.skipped == 0 and rep.rows > 0


def test_cli_bad_parameter_is_one_line(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["simulate", "--out", str(tmp_path / "x"), "--set", "bogus=1"])
    assert code == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bogus" in err[0]


def test_cli_simulate_token_forgery_summary(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The token-forgery generator has no connection logs: its summary names what it has."""
    code = main(["simulate", "--preset", "token_forgery", "--set", "users=40", "--set", "days=3",
                 "--out", str(tmp_path / "t")])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "sign-ins" in out and "conn rows" not in out
