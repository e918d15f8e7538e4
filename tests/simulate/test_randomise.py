"""Domain randomisation: wide, seeded draws of every behavioural parameter."""

from __future__ import annotations

import pytest

from attrib.errors import ConfigError
from attrib.simulate.presets import apply_overrides
from attrib.simulate.randomise import RANDOMISED_PRESETS, randomised_params


def test_same_seed_same_world_other_seed_other_world():
    assert randomised_params("wild", 3) == randomised_params("wild", 3)
    assert randomised_params("wild", 3) != randomised_params("wild", 4)


def test_draws_span_wide_ranges_and_validate():
    ps = [randomised_params("wild", s) for s in range(1, 61)]
    for p in ps:
        apply_overrides(p, {})  # every draw is a valid scenario
        assert p.victim_country not in ("JP", "FR", "BR")  # held-out countries
    lease = [p.home_lease_mean_days for p in ps]
    assert min(lease) < 1.0 and max(lease) > 30.0  # DHCP churn from hours to months
    mob = [p.mobile_share for p in ps]
    assert min(mob) < 0.1 and max(mob) > 0.5
    assert {p.cgnat_net_type for p in ps} == {"mobile", "residential"}
    nets = {c.network for p in ps for c in p.campaigns}
    assert nets == {"non_provisioned", "provisioned", "hybrid"}
    uas = {c.user_agent for p in ps for c in p.campaigns}
    assert any("Chrome/133" in u for u in uas) and "python-requests/2.31.0" in uas
    life = [c.lifetime_short_median_days for p in ps for c in p.campaigns]
    assert min(life) < 2.0 and max(life) > 15.0


@pytest.mark.parametrize(("name", "network"), [("wild_soho", "non_provisioned"),
                                               ("wild_vps", "provisioned"),
                                               ("wild_hybrid", "hybrid")])  # fmt: skip
def test_single_kind_presets(name: str, network: str):
    assert RANDOMISED_PRESETS[name] == (network,)
    for s in range(1, 11):
        assert {c.network for c in randomised_params(name, s).campaigns} == {network}


def test_unknown_name_refused():
    with pytest.raises(ConfigError):
        randomised_params("tame", 1)


def test_hour_long_leases_cover_the_window(tmp_path):
    """Regression: with leases of hours, homes kept one address for the window's last days."""
    import pandas as pd

    from attrib.simulate import simulate

    res = simulate("demo", 3, tmp_path / "s", users=20, days=6, home_lease_mean_days=0.5,
                   home_daily_renumber_share=0.0, **{"campaign.active_exits": 3})  # fmt: skip
    truth = pd.read_parquet(res.paths["truth"])
    homes = truth[truth["kind"] == "home_broadband"]
    # ~12 leases per user over 6 days of half-day leases (the old cap was 4 per user)
    assert len(homes) / 20 > 8


def test_fixed_line_cgnat(tmp_path):
    import pandas as pd

    from attrib.simulate import simulate

    res = simulate("demo", 3, tmp_path / "s", users=30, days=2, cgnat_net_type="residential",
                   mobile_share=0.6, **{"campaign.active_exits": 3})  # fmt: skip
    cg = pd.read_parquet(res.paths["truth"]).query("kind == 'mobile_cgnat'")
    assert len(cg) and set(cg["net_type"].dropna()) <= {"residential"}
    with pytest.raises(ConfigError):
        apply_overrides(randomised_params("wild", 1), {"cgnat_net_type": "satellite"})
