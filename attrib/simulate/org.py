"""The simulated organisation: accounts, offices, public services, working hours.

Written beside the logs as ``org.toml`` in the format of :class:`attrib.context.OrgContext`.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from attrib.simulate._addresses import AddressPool
from attrib.simulate.presets import SimParams

__all__ = ["COUNTRY_TIMEZONES", "Org", "build_org", "write_org_toml"]

#: Default IANA time zone of a victim country (capital's zone).
COUNTRY_TIMEZONES: dict[str, str] = {
    "DE": "Europe/Berlin",
    "NL": "Europe/Amsterdam",
    "GB": "Europe/London",
    "FR": "Europe/Paris",
    "IT": "Europe/Rome",
    "ES": "Europe/Madrid",
    "PL": "Europe/Warsaw",
    "SE": "Europe/Stockholm",
    "US": "America/New_York",
    "CA": "America/Toronto",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "TW": "Asia/Taipei",
    "AU": "Australia/Sydney",
    "IN": "Asia/Kolkata",
    "SG": "Asia/Singapore",
    "PH": "Asia/Manila",
    "BR": "America/Sao_Paulo",
}

_GIVEN = (
    "anna",
    "ben",
    "clara",
    "david",
    "emma",
    "felix",
    "greta",
    "hugo",
    "ida",
    "jonas",
    "karin",
    "lukas",
    "maria",
    "noah",
    "olivia",
    "paul",
    "rosa",
    "sam",
    "tara",
    "yuki",
)
_FAMILY = (
    "bauer",
    "chen",
    "diaz",
    "eriksen",
    "fischer",
    "garcia",
    "hoffmann",
    "ito",
    "jansen",
    "kim",
    "lopez",
    "meyer",
    "novak",
    "okafor",
    "patel",
    "rossi",
    "sato",
    "schmidt",
    "tanaka",
    "weber",
    "wilson",
    "young",
    "zimmer",
    "nguyen",
)


@dataclass(frozen=True)
class Org:
    """A built organisation."""

    name: str
    domain: str
    country: str
    timezone: str
    work_hours: tuple[int, int]
    users: tuple[str, ...]
    offices: pd.DataFrame  # address rows (ip + enrichment) of office egress
    office_cidrs: tuple[str, ...]
    services: dict[str, str]  # role -> address: vpn, owa, ssh
    service_row: pd.Series  # enrichment of the services' network

    @property
    def tz_offset_h(self) -> float:
        """UTC offset of the organisation's time zone at the scenario start (hours)."""
        from zoneinfo import ZoneInfo

        return float(
            pd.Timestamp("2026-03-02", tz=ZoneInfo(self.timezone)).utcoffset().total_seconds()  # type: ignore[union-attr]
            / 3600
        )


def _usernames(n: int, rng: np.random.Generator, domain: str) -> tuple[str, ...]:
    seen: dict[str, int] = {}
    out = []
    g = rng.integers(0, len(_GIVEN), n)
    f = rng.integers(0, len(_FAMILY), n)
    for i in range(n):
        base = f"{_GIVEN[g[i]]}.{_FAMILY[f[i]]}"
        k = seen.get(base, 0)
        seen[base] = k + 1
        out.append(f"{base}{k + 1 if k else ''}@{domain}")
    return tuple(out)


def build_org(p: SimParams, pool: AddressPool, rng: np.random.Generator) -> Org:
    """Build the organisation of a scenario.

    Parameters
    ----------
    p
        Scenario parameters.
    pool
        Address source.
    rng
        Random generator.

    Returns
    -------
    Org
        Accounts, offices (business networks in the victim's country) and public services
        (VPN gateway, OWA, SSH bastion) in the head office's network.
    """
    tz = p.timezone or COUNTRY_TIMEZONES.get(p.victim_country, "UTC")
    offices = pool.draw(max(p.offices, 1), country=p.victim_country, net_type="business")
    cidrs = tuple(str(ipaddress.ip_network(f"{ip}/29", strict=False)) for ip in offices["ip"])
    head = ipaddress.ip_network(cidrs[0])
    egress = ipaddress.ip_address(offices["ip"].iloc[0])
    hosts = [str(h) for h in head.hosts() if h != egress]
    # the public website shares the head office's range (not a sign-in service)
    services = {"vpn": hosts[0], "owa": hosts[1], "ssh": hosts[2], "web": hosts[3]}
    pool.used.update(hosts)
    return Org(
        name=p.org_name,
        domain=p.domain,
        country=p.victim_country,
        timezone=tz,
        work_hours=p.work_hours,
        users=_usernames(p.users, rng, p.domain),
        offices=offices,
        office_cidrs=cidrs,
        services=services,
        service_row=offices.iloc[0],
    )


def write_org_toml(org: Org, path: Path) -> None:
    """Write the organisation as an ``OrgContext`` TOML file.

    Parameters
    ----------
    org
        The organisation.
    path
        Target file.
    """

    def arr(values: list[str]) -> str:
        return "[" + ", ".join(f'"{v}"' for v in values) + "]"

    text = (
        "# Simulated organisation (attrib simulate); read with attrib.context.OrgContext\n"
        f'name = "{org.name}"\n'
        f"home_countries = {arr([org.country])}\n"
        f'timezone = "{org.timezone}"\n'
        f"work_hours = [{org.work_hours[0]}, {org.work_hours[1]}]\n"
        f"offices = {arr(list(org.office_cidrs))}\n"
        f"services = {arr([org.services[k] for k in ('vpn', 'owa', 'ssh')])}\n"
        f"accounts = {len(org.users)}\n"
    )
    path.write_text(text, encoding="utf-8")
