"""Domain randomisation: a different organisation, population and campaign mix per seed.

The named presets vary one thing at a time around the defaults of ``docs/simulator.md``. A
model trained only on them learns the defaults (how long a home lease lasts, how many
employees share a carrier address, which User-Agent the operator uses) rather than what holds
in any organisation. :func:`randomised_params` draws every behavioural parameter of the benign
population, the confounders and the campaigns from wide ranges, per seed:

* DHCP churn from hours to months, 0-90% of homes renumbered daily;
* carrier-grade NAT from 0% to 60% of employees, 3-60 employees per address, sessions from an
  hour to a month, on mobile carriers or on fixed-line broadband (``cgnat_net_type``);
* connection-only background (:mod:`attrib.simulate.background`): a website audience of a
  few to hundreds of visitors a day, crawlers, VPN-portal fingerprinting fleets and mail
  senders at rates from negligible to heavy; commodity spraying whose residential-proxy
  addresses come back on later days (0-60% of drips);
* typing mistakes, MFA prompts, corporate / commercial VPN, Private Relay, travel, scanners and
  commodity spraying at rates from negligible to heavy;
* one to three campaigns, each SOHO-only, VPS-only or hybrid, with exit pools from a handful to
  hundreds, exit lifetimes from a day to months, attempt rates from one every few days to
  dozens a day, and tooling that is either the benign population's own browser (same
  User-Agent and TLS fingerprint as the employees) or a script.

Preset names ``wild`` (any mix), ``wild_soho``, ``wild_vps`` and ``wild_hybrid`` (every
campaign of that kind) select it. Victim countries JP, FR and BR are never drawn: they are the
held-out countries of the scorer's evaluation.

>>> from attrib.simulate.randomise import randomised_params
>>> p = randomised_params("wild", 3)
>>> p.name
'wild'
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from attrib.errors import ConfigError
from attrib.simulate._profiles import DEVICES
from attrib.simulate.presets import CampaignParams, SimParams

__all__ = ["RANDOMISED_PRESETS", "randomised_params"]

#: Randomised preset name -> campaign network kinds it draws from.
RANDOMISED_PRESETS: dict[str, tuple[str, ...]] = {
    "wild": ("non_provisioned", "provisioned", "hybrid"),
    "wild_soho": ("non_provisioned",),
    "wild_vps": ("provisioned",),
    "wild_hybrid": ("hybrid",),
}
#: Victim countries drawn (not JP, FR, BR: held out for evaluation).
_COUNTRIES = ("DE", "US", "GB", "NL", "IT", "ES", "CA", "AU", "PL", "SE", "KR", "CH", "AT", "BE")
#: Operator (country, UTC offset) pairs.
_OPERATORS = (("CN", 8), ("RU", 3), ("IR", 3), ("KP", 9), ("VN", 7), ("BY", 3))
_SCRIPT_TOOLS = (
    ("python-requests/2.31.0", "python_requests"),
    ("Go-http-client/1.1", "go_tls"),
    (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/103.0.0.0 Safari/537.36",
        "go_tls",
    ),
    ("Microsoft Office/16.0 (Windows NT 10.0; Microsoft Outlook 16.0.4266; Pro)", "go_tls"),
)
_RELAY_COUNTRIES = ("HK", "SG", "US", "NL", "DE", "JP", "KR", "GB")


def _logu(rng: np.random.Generator, lo: float, hi: float) -> float:
    """Log-uniform draw in [lo, hi]."""
    return float(math.exp(rng.uniform(math.log(lo), math.log(hi))))


def _campaign(rng: np.random.Generator, i: int, network: str, days: int) -> CampaignParams:
    """One campaign with every behavioural parameter drawn."""
    if rng.random() < 0.5:  # the operator uses a current browser, like the employees
        dev = DEVICES[str(rng.choice(["win_chrome", "win_edge", "mac_safari"]))]
        ua, hello = dev.user_agent, dev.hello
    else:
        ua, hello = _SCRIPT_TOOLS[int(rng.integers(len(_SCRIPT_TOOLS)))]
    op, off = _OPERATORS[int(rng.integers(len(_OPERATORS)))]
    short = _logu(rng, 0.5, 30.0)
    start = int(rng.integers(0, max(1, days // 3)))
    relays = tuple(str(c) for c in rng.choice(_RELAY_COUNTRIES, 3, replace=False))
    return CampaignParams(
        name=f"orb-{i + 1}",
        network=network,
        active_exits=int(round(_logu(rng, 6, 200))),
        exit_home_share=float(rng.uniform(0.3, 1.0)),
        exit_near_share=float(rng.uniform(0.0, 0.8)),
        exit_residential_share=float(rng.uniform(0.4, 1.0)),
        hybrid_vps_share=float(rng.uniform(0.1, 0.7)),
        lifetime_short_median_days=short,
        lifetime_long_median_days=float(max(short * 1.5, _logu(rng, 10.0, 120.0))),
        lifetime_long_share=float(rng.uniform(0.0, 0.5)),
        lifetime_sigma=float(rng.uniform(0.3, 1.0)),
        vps_lifetime_median_days=_logu(rng, 0.5, 60.0),
        attempts_per_exit_day=_logu(rng, 0.2, 20.0),
        attempts_per_account_day=_logu(rng, 0.5, 3.0),
        entra_share=float(rng.uniform(0.4, 1.0)),
        compromised_accounts=int(rng.integers(0, 5)),
        mail_access_exits=int(rng.integers(1, 5)),
        mail_access_per_day=_logu(rng, 1.0, 10.0),
        start_day=start,
        operator_country=op,
        operator_utc_offset=off,
        operator_hours_share=float(rng.uniform(0.4, 0.95)),
        relays=int(rng.integers(1, 5)),
        traversal_nodes=int(rng.integers(4, 20)),
        relay_countries=relays,
        user_agent=ua,
        tls_client=hello,
        exit_stack="linux_embedded" if rng.random() < 0.8 else "linux",
    )


def randomised_params(name: str, seed: int) -> SimParams:
    """Scenario parameters drawn from wide ranges for one seed.

    Parameters
    ----------
    name
        One of :data:`RANDOMISED_PRESETS`.
    seed
        Seed of the draw (the simulation itself is seeded separately with the same seed).

    Returns
    -------
    SimParams
        A complete parameter set; the same name and seed give the same parameters.
    """
    if name not in RANDOMISED_PRESETS:
        raise ConfigError(f"unknown randomised preset {name!r}")
    # a stream separate from the simulation's own (seeded with the plain seed)
    rng = np.random.default_rng([seed, 0x5EED, len(name)])
    days = int(rng.integers(7, 22))
    country = str(rng.choice(_COUNTRIES))
    kinds = RANDOMISED_PRESETS[name]
    n_camp = int(rng.choice([1, 1, 2, 3]))
    campaigns = tuple(
        _campaign(rng, i, str(kinds[int(rng.integers(len(kinds)))]), days) for i in range(n_camp)
    )
    base = SimParams()
    return replace(
        base,
        name=name,
        victim_country=country,
        org_name=f"Randomised Org {seed}",
        domain=f"org{seed}.example.com",
        days=days,
        users=int(rng.integers(120, 450)),
        work_hours=(int(rng.integers(7, 10)), int(rng.integers(16, 19))),
        offices=int(rng.integers(1, 4)),
        office_share=float(rng.uniform(0.1, 0.9)),
        weekend_activity=float(rng.uniform(0.05, 0.4)),
        signins_per_user_day=_logu(rng, 0.5, 6.0),
        home_isps=int(rng.integers(3, 12)),
        home_daily_renumber_share=float(rng.uniform(0.0, 0.9)),
        home_lease_mean_days=_logu(rng, 0.25, 120.0),
        mobile_share=float(rng.uniform(0.0, 0.6)),
        mobile_signin_share=float(rng.uniform(0.1, 0.7)),
        cgnat_users_per_ip=_logu(rng, 3.0, 60.0),
        cgnat_session_hours=_logu(rng, 1.0, 720.0),
        mobile_carriers=int(rng.integers(1, 5)),
        cgnat_net_type="residential" if rng.random() < 0.35 else "mobile",
        traveller_trip_rate=_logu(rng, 0.0005, 0.02),
        mistype_rate=_logu(rng, 0.005, 0.12),
        mfa_prompt_rate=float(rng.uniform(0.0, 0.4)),
        corp_vpn_share=float(rng.uniform(0.0, 0.4)),
        corp_vpn_ips=int(rng.integers(1, 8)),
        commercial_vpn_share=float(rng.uniform(0.0, 0.1)),
        private_relay_share=float(rng.uniform(0.0, 0.15)),
        scanners_per_day=int(rng.integers(5, 60)),
        scanner_persist_share=float(rng.uniform(0.0, 0.6)),
        spray_ips_per_day=int(rng.integers(0, 80)),
        spray_burst_share=float(rng.uniform(0.1, 0.9)),
        spray_proxy_attempts=_logu(rng, 1.0, 6.0),
        spray_local_share=float(rng.uniform(0.0, 0.6)),
        spray_valid_account_share=float(rng.uniform(0.2, 0.9)),
        admins=int(rng.integers(1, 6)),
        # drawn after the rest, so the earlier draws of a seed are unchanged
        spray_return_share=float(rng.uniform(0.0, 0.6)),
        web_visitors_per_day=_logu(rng, 5.0, 250.0),
        web_local_share=float(rng.uniform(0.2, 0.9)),
        web_mobile_share=float(rng.uniform(0.1, 0.6)),
        web_return_share=float(rng.uniform(0.0, 0.4)),
        web_pages_per_visit=_logu(rng, 1.0, 10.0),
        crawlers=int(round(_logu(rng, 2.0, 80.0))),
        crawler_conns_per_day=_logu(rng, 0.5, 20.0),
        vpn_probers_per_day=_logu(rng, 0.2, 10.0),
        vpn_prober_return_share=float(rng.uniform(0.0, 0.6)),
        mail_senders=int(round(_logu(rng, 3.0, 200.0))),
        mail_sender_active_share=float(rng.uniform(0.1, 0.9)),
        mails_per_sender_day=_logu(rng, 0.5, 10.0),
        compress="gz",
        campaigns=campaigns,
    )
