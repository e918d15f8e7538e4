"""The organisation's context: home countries, offices, public services, working hours.

Read from a small TOML file (``attrib analyze --config org.toml``) or inferred from the data::

    # org.toml
    name = "Example Corp"
    home_countries = ["NL", "DE"]          # ISO 3166-1 alpha-2
    timezone = "Europe/Amsterdam"          # IANA name, for working-hours features
    work_hours = [8, 18]                   # local hours [start, end)
    offices = ["198.51.100.0/28"]          # egress CIDRs of the organisation's offices
    services = ["203.0.113.10", "203.0.113.11"]   # public services (VPN, OWA, SSH bastion)
    accounts = 1200                        # size of the directory, if known
"""

from __future__ import annotations

import ipaddress
import tomllib
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import pandas as pd

from attrib.errors import ConfigError

__all__ = ["OrgContext"]

IPNet = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(values: Sequence[str], key: str, path: str) -> tuple[IPNet, ...]:
    out = []
    for v in values:
        try:
            out.append(ipaddress.ip_network(str(v).strip(), strict=False))
        except ValueError:
            raise ConfigError(f"{path}: {key}: {v!r} is not an IP address or CIDR") from None
    return tuple(out)


@dataclass(frozen=True)
class OrgContext:
    """What attrib knows about the defended organisation.

    Parameters
    ----------
    name
        Display name.
    home_countries
        ISO country codes where employees normally are (the "victim's country").
    timezone
        IANA time zone for working-hours features.
    work_hours
        Local working hours ``(start, end)``.
    offices
        Office egress networks.
    services
        The organisation's public service addresses (destinations of inbound traffic).
    accounts
        Number of accounts in the directory, if known.
    """

    name: str = "organisation"
    home_countries: tuple[str, ...] = ()
    timezone: str = "UTC"
    work_hours: tuple[int, int] = (8, 18)
    offices: tuple[IPNet, ...] = ()
    services: tuple[IPNet, ...] = ()
    accounts: int | None = None
    inferred: tuple[str, ...] = field(default=())

    @classmethod
    def from_dict(cls, d: dict[str, Any], path: str = "<config>") -> OrgContext:
        """Build from a plain mapping (the parsed TOML).

        Parameters
        ----------
        d
            Keys as in the module docstring.
        path
            Where it came from, for error messages.

        Returns
        -------
        OrgContext
            The validated context.
        """
        known = {"name", "home_countries", "timezone", "work_hours", "offices", "services",
                 "accounts"}  # fmt: skip
        unknown = set(d) - known
        if unknown:
            raise ConfigError(f"{path}: unknown key(s): {', '.join(sorted(unknown))}")
        tz = str(d.get("timezone", "UTC"))
        try:
            ZoneInfo(tz)
        except (ZoneInfoNotFoundError, ValueError):
            raise ConfigError(f"{path}: timezone: unknown time zone {tz!r}") from None
        countries = tuple(str(c).upper() for c in d.get("home_countries", ()))
        if any(len(c) != 2 or not c.isalpha() for c in countries):
            raise ConfigError(f"{path}: home_countries: use ISO 3166-1 alpha-2 codes")
        wh = tuple(int(h) for h in d.get("work_hours", (8, 18)))
        if len(wh) != 2 or not (0 <= wh[0] < wh[1] <= 24):
            raise ConfigError(
                f"{path}: work_hours: expected [start, end] with 0 <= start < end <= 24"
            )
        accounts = d.get("accounts")
        return cls(
            name=str(d.get("name", "organisation")),
            home_countries=countries,
            timezone=tz,
            work_hours=(wh[0], wh[1]),
            offices=_nets(d.get("offices", ()), "offices", path),
            services=_nets(d.get("services", ()), "services", path),
            accounts=int(accounts) if accounts is not None else None,
        )

    @classmethod
    def from_toml(cls, path: str | Path) -> OrgContext:
        """Read a TOML config file.

        Parameters
        ----------
        path
            The file.

        Returns
        -------
        OrgContext
            The validated context.
        """
        p = Path(path)
        try:
            data = tomllib.loads(p.read_text(encoding="utf-8"))
        except OSError as exc:
            raise ConfigError(f"{p}: cannot read: {exc.strerror}") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{p}: invalid TOML: {exc}") from None
        return cls.from_dict(data, str(p))

    def is_office(self, ips: pd.Series) -> pd.Series:
        """Whether each address is in one of the office networks.

        Parameters
        ----------
        ips
            Addresses as text.

        Returns
        -------
        pandas.Series
            Boolean, aligned to ``ips``.
        """
        return _in_nets(ips, self.offices)

    def is_service(self, ips: pd.Series) -> pd.Series:
        """Whether each address is one of the organisation's public services.

        Parameters
        ----------
        ips
            Addresses as text.

        Returns
        -------
        pandas.Series
            Boolean, aligned to ``ips``.
        """
        return _in_nets(ips, self.services)


def _in_nets(ips: pd.Series, nets: tuple[IPNet, ...]) -> pd.Series:
    if not nets:
        return pd.Series(False, index=ips.index)
    uniq = pd.unique(ips.dropna())

    def hit(s: str) -> bool:
        try:
            a = ipaddress.ip_address(s)
        except ValueError:
            return False
        return any(a in n for n in nets)

    lut = {u: hit(u) for u in uniq}
    return ips.map(lut).fillna(False).astype(bool)
