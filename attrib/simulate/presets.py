"""Scenario parameters and named presets.

Every rate, size, lifetime and mix of the simulator is a field of :class:`SimParams` (the
organisation and its benign population) or :class:`CampaignParams` (one adversary campaign).
Defaults and the public sources behind them are documented in ``docs/simulator.md``.
``--set key=value`` overrides a field; ``campaign.<field>=value`` (all campaigns) or
``campaigns.<i>.<field>=value`` (one campaign) reach into campaigns.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field, fields, replace
from typing import Any

from attrib.errors import ConfigError

__all__ = ["PRESETS", "CampaignParams", "SimParams", "apply_overrides", "preset_params"]


@dataclass(frozen=True)
class CampaignParams:
    """One adversary campaign behind a covert (ORB) network.

    Parameters
    ----------
    name
        Campaign id written to the truth tables.
    network
        ``non_provisioned`` (compromised SOHO routers / IoT), ``provisioned`` (rented VPS) or
        ``hybrid``.
    active_exits
        Concurrent exit nodes in the pool; a node that dies is replaced (hand-off).
    exit_home_share
        Share of exits in the victim's country.
    exit_near_share
        Among the other exits: share in a neighbouring country (else anywhere).
    exit_residential_share
        Among compromised devices: residential (else small-business) networks.
    hybrid_vps_share
        Share of exits that are rented VPS in a hybrid network.
    lifetime_short_median_days, lifetime_long_median_days, lifetime_long_share
        Node lifetimes: a log-normal mixture of memory-resident implants lost at reboot and
        persistent ones.
    lifetime_sigma
        Log-normal shape of both components.
    vps_lifetime_median_days
        Lifetime of a rented VPS address.
    attempts_per_exit_day
        Mean sign-in attempts per active exit per day (Poisson).
    attempts_per_account_day
        Mean attempts per targeted account per day; sets how many accounts are sprayed.
    entra_share
        Share of attempts against the cloud identity provider (else against on-premises OWA /
        VPN gateway, seen in conn.log).
    compromised_accounts
        Accounts whose password is guessed during the campaign.
    mail_access_exits
        Exits used for mailbox access after a success.
    mail_access_per_day
        ``MailItemsAccessed`` records per compromised account per day.
    start_day, end_day
        Campaign window in days from the scenario start (``end_day`` -1 = to the end).
    operator_country, operator_utc_offset, operator_hours, operator_hours_share
        Where the operators sit; share of attempts in their local working hours.
    relays, traversal_nodes
        Provisioned relays and traversal nodes in the layered path.
    relay_countries
        Countries of the relays (rented VPS).
    user_agent
        The operator tooling's HTTP User-Agent, identical across exits.
    tls_client
        The operator tooling's TLS ClientHello profile (see ``_profiles.HELLOS``).
    exit_stack
        TCP/IP stack of the exits' SYN (routers: ``linux_embedded``).
    """

    name: str = "orb-1"
    network: str = "non_provisioned"
    active_exits: int = 60
    exit_home_share: float = 0.7
    exit_near_share: float = 0.5
    exit_residential_share: float = 0.8
    hybrid_vps_share: float = 0.3
    lifetime_short_median_days: float = 17.0
    lifetime_long_median_days: float = 90.0
    lifetime_long_share: float = 0.3
    lifetime_sigma: float = 0.5
    vps_lifetime_median_days: float = 31.0
    attempts_per_exit_day: float = 1.5
    attempts_per_account_day: float = 1.0
    entra_share: float = 0.7
    compromised_accounts: int = 2
    mail_access_exits: int = 3
    mail_access_per_day: float = 4.0
    start_day: int = 2
    end_day: int = -1
    operator_country: str = "CN"
    operator_utc_offset: int = 8
    operator_hours: tuple[int, int] = (9, 18)
    operator_hours_share: float = 0.8
    relays: int = 3
    traversal_nodes: int = 12
    relay_countries: tuple[str, ...] = ("HK", "SG", "US")
    user_agent: str = (
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) "
        "Chrome/103.0.0.0 Safari/537.36"
    )
    tls_client: str = "go_tls"
    exit_stack: str = "linux_embedded"


@dataclass(frozen=True)
class SimParams:
    """The organisation, its benign population, confounders and the campaigns.

    Parameters are described in ``docs/simulator.md`` with their sources.
    """

    name: str = "demo"
    org_name: str = "Example Manufacturing GmbH"
    domain: str = "example-mfg.com"
    victim_country: str = "DE"
    timezone: str = ""
    start: str = "2026-03-02"
    days: int = 14
    users: int = 200
    work_hours: tuple[int, int] = (8, 18)
    offices: int = 2
    office_share: float = 0.55
    weekend_activity: float = 0.15
    signins_per_user_day: float = 2.0
    vpn_sessions_per_remote_day: float = 1.5
    owa_conns_per_remote_day: float = 3.0
    home_isps: int = 8
    home_daily_renumber_share: float = 0.15
    home_lease_mean_days: float = 60.0
    mobile_share: float = 0.35
    mobile_signin_share: float = 0.3
    cgnat_users_per_ip: float = 20.0
    cgnat_session_hours: float = 4.0
    mobile_carriers: int = 3
    cgnat_net_type: str = "mobile"
    traveller_trip_rate: float = 0.004
    traveller_trip_days: float = 4.0
    mistype_rate: float = 0.03
    mfa_prompt_rate: float = 0.15
    corp_vpn_share: float = 0.1
    corp_vpn_ips: int = 4
    commercial_vpn_share: float = 0.02
    private_relay_share: float = 0.06
    private_relay_ips: int = 12
    scanners_per_day: int = 25
    scanner_probes: float = 6.0
    scanner_persist_share: float = 0.3
    spray_ips_per_day: int = 30
    spray_burst_share: float = 0.4
    spray_burst_attempts: float = 40.0
    spray_proxy_attempts: float = 3.0
    spray_local_share: float = 0.2
    spray_valid_account_share: float = 0.5
    spray_return_share: float = 0.15
    web_visitors_per_day: float = 60.0
    web_local_share: float = 0.6
    web_mobile_share: float = 0.35
    web_return_share: float = 0.15
    web_pages_per_visit: float = 4.0
    crawlers: int = 15
    crawler_conns_per_day: float = 3.0
    vpn_probers_per_day: float = 2.0
    vpn_prober_return_share: float = 0.3
    mail_senders: int = 30
    mail_sender_active_share: float = 0.3
    mails_per_sender_day: float = 2.0
    admins: int = 3
    admin_ssh_per_day: float = 4.0
    pcap_handshakes: int = 40
    two_sided: bool = False
    relay_port: int = 11288
    relay_background_per_day: float = 300.0
    zeek_format: str = "tsv"
    compress: str = "none"
    campaigns: tuple[CampaignParams, ...] = field(default_factory=lambda: (CampaignParams(),))


_LOUD = CampaignParams(
    name="orb-loud",
    active_exits=15,
    attempts_per_exit_day=25.0,
    attempts_per_account_day=3.0,
    lifetime_short_median_days=10.0,
)
_QUIET = CampaignParams(name="orb-quiet", active_exits=120, attempts_per_exit_day=1.0)
_VERY_QUIET = CampaignParams(
    name="orb-very-quiet",
    active_exits=300,
    attempts_per_exit_day=0.3,
    compromised_accounts=1,
    mail_access_exits=2,
)

#: Forged/stolen-token mailbox access (Storm-0558): generated by ``simulate.token_forgery``.
_FORGERY = CampaignParams(
    name="forgery-1",
    network="forged_tokens",
    active_exits=6,
    hybrid_vps_share=0.5,
    exit_home_share=0.2,
    compromised_accounts=4,
    mail_access_per_day=5.0,
    start_day=3,
    operator_utc_offset=8,
    operator_hours=(9, 18),
)

#: Named presets; each is a complete :class:`SimParams`.
PRESETS: dict[str, SimParams] = {
    "demo": SimParams(compress="gz"),
    "loud": SimParams(name="loud", campaigns=(_LOUD,)),
    "quiet": SimParams(name="quiet", users=400, campaigns=(_QUIET,)),
    "very_quiet": SimParams(name="very_quiet", users=600, days=21, campaigns=(_VERY_QUIET,)),
    "victim_us": SimParams(
        name="victim_us",
        victim_country="US",
        org_name="Example Aerospace Inc.",
        domain="example-aero.com",
    ),
    "victim_jp": SimParams(
        name="victim_jp",
        victim_country="JP",
        org_name="Example Kogyo K.K.",
        domain="example-kogyo.co.jp",
    ),
    "victim_de": SimParams(name="victim_de"),
    "token_forgery": SimParams(name="token_forgery", users=300, campaigns=(_FORGERY,)),
    "hybrid": SimParams(
        name="hybrid",
        campaigns=(CampaignParams(name="orb-hybrid", network="hybrid"),),
    ),
    "provisioned": SimParams(
        name="provisioned",
        campaigns=(
            CampaignParams(
                name="orb-vps",
                network="provisioned",
                active_exits=25,
                tls_client="python_requests",
                user_agent="python-requests/2.31.0",
            ),
        ),
    ),
    "two_sided": SimParams(
        name="two_sided",
        days=7,
        users=100,
        two_sided=True,
        campaigns=(
            CampaignParams(
                name="orb-2s",
                active_exits=16,
                attempts_per_exit_day=4.0,
                start_day=1,
                attempts_per_account_day=1.0,
            ),
        ),
    ),
    "large": SimParams(
        name="large",
        owa_conns_per_remote_day=24.0,
        vpn_sessions_per_remote_day=2.0,
        users=20000,
        days=30,
        signins_per_user_day=0.4,
        pcap_handshakes=60,
        scanners_per_day=400,
        corp_vpn_ips=12,
        private_relay_ips=60,
        admins=10,
        campaigns=(
            CampaignParams(
                name="orb-a", active_exits=1500, attempts_per_exit_day=1.0, compromised_accounts=8
            ),
            CampaignParams(
                name="orb-b",
                network="provisioned",
                active_exits=60,
                attempts_per_exit_day=4.0,
                tls_client="python_requests",
                user_agent="python-requests/2.31.0",
                operator_country="RU",
                operator_utc_offset=3,
                relay_countries=("NL", "DE"),
            ),
        ),
    ),
}


def preset_params(name: str) -> SimParams:
    """Return the parameters of a named preset.

    Parameters
    ----------
    name
        One of :data:`PRESETS`.

    Returns
    -------
    SimParams
        The preset.
    """
    try:
        return PRESETS[name]
    except KeyError:
        raise ConfigError(
            f"unknown preset {name!r}; choose one of: {', '.join(sorted(PRESETS))}"
        ) from None


def _coerce(current: Any, value: Any, key: str) -> Any:
    if not isinstance(value, str):
        return value
    try:
        if isinstance(current, bool):
            if value.lower() in ("1", "true", "yes", "on"):
                return True
            if value.lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError(value)
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            return float(value)
        if isinstance(current, tuple):
            parts = [p.strip() for p in value.split(",") if p.strip()]
            if current and isinstance(current[0], int):
                return tuple(int(p) for p in parts)
            return tuple(parts)
    except ValueError:
        raise ConfigError(f"--set {key}: cannot use {value!r} here") from None
    return value


def _set(obj: Any, key: str, value: Any, full: str) -> Any:
    names = {f.name for f in fields(obj)}
    if key not in names:
        raise ConfigError(f"--set {full}: unknown parameter {key!r}")
    return replace(obj, **{key: _coerce(getattr(obj, key), value, full)})


def apply_overrides(params: SimParams, overrides: dict[str, Any]) -> SimParams:
    """Return ``params`` with overrides applied and validated.

    Parameters
    ----------
    params
        Base parameters.
    overrides
        ``field -> value`` (strings are converted to the field's type); ``campaign.<f>``
        sets a campaign field on every campaign, ``campaigns.<i>.<f>`` on one.

    Returns
    -------
    SimParams
        New parameters.
    """
    p = params
    for key, value in overrides.items():
        parts = key.split(".")
        if parts[0] == "campaign" and len(parts) == 2:
            p = replace(p, campaigns=tuple(_set(c, parts[1], value, key) for c in p.campaigns))
        elif parts[0] == "campaigns" and len(parts) == 3 and parts[1].isdigit():
            i = int(parts[1])
            if i >= len(p.campaigns):
                raise ConfigError(f"--set {key}: there are {len(p.campaigns)} campaign(s)")
            cs = list(p.campaigns)
            cs[i] = _set(cs[i], parts[2], value, key)
            p = replace(p, campaigns=tuple(cs))
        elif len(parts) == 1:
            p = _set(p, key, value, key)
        else:
            raise ConfigError(f"--set {key}: unknown parameter")
    _validate(p)
    return p


def _validate(p: SimParams) -> None:
    if p.days < 1 or p.users < 1:
        raise ConfigError("days and users must be at least 1")
    if p.zeek_format not in ("tsv", "json"):
        raise ConfigError("zeek_format must be 'tsv' or 'json'")
    if p.compress not in ("none", "gz"):
        raise ConfigError("compress must be 'none' or 'gz'")
    if p.cgnat_net_type not in ("mobile", "residential"):
        raise ConfigError("cgnat_net_type must be 'mobile' or 'residential'")
    if len(p.victim_country) != 2:
        raise ConfigError("victim_country must be an ISO 3166-1 alpha-2 code")
    for c in p.campaigns:
        if c.network not in ("non_provisioned", "provisioned", "hybrid", "forged_tokens"):
            raise ConfigError(
                f"campaign {c.name}: network must be non_provisioned, provisioned, hybrid "
                "or forged_tokens"
            )
        if c.active_exits < 1:
            raise ConfigError(f"campaign {c.name}: active_exits must be at least 1")
    objs: list[SimParams | CampaignParams] = [p, *p.campaigns]
    for obj in objs:
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if f.name.endswith("_share") and not 0.0 <= float(v) <= 1.0:
                raise ConfigError(f"{f.name} must be within [0, 1]")
