"""The one place the simulator gets addresses: real ones, from attrib's enrichment data.

Every origin of a scenario is drawn from the real address space by country, network type or
AS number through :func:`attrib.enrich.sample_ips`, so the ASNs, organisations and places a
reader of the output looks up are real. No published indicator list of any botnet is used:
adversary exits are ordinary residential, business or hosting addresses.

Tests may pass another sampler with the same signature (a test double).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

import numpy as np
import pandas as pd

from attrib.errors import DataError

__all__ = ["COLUMNS", "AddressPool", "Sampler"]

logger = logging.getLogger(__name__)

#: Columns of every draw.
COLUMNS = ("ip", "asn", "as_org", "country", "city", "lat", "lon", "net_type", "tags")

Sampler = Callable[..., pd.DataFrame]


def _default_sampler() -> Sampler:
    try:
        from attrib.enrich import sample_ips
    except ImportError as exc:  # pragma: no cover - enrichment always ships with attrib
        raise DataError(f"the simulator needs attrib.enrich.sample_ips: {exc}") from None
    return sample_ips


def _plain(df: pd.DataFrame) -> pd.DataFrame:
    """Plain numpy-backed columns (object text), cheap to index row-wise in the generator."""
    out = df.loc[:, list(COLUMNS)].reset_index(drop=True)
    for c in ("ip", "as_org", "country", "city", "net_type", "tags"):
        out[c] = out[c].astype(object).where(out[c].notna(), None)
    out["asn"] = pd.to_numeric(out["asn"], errors="coerce").astype("float64")
    out["lat"] = pd.to_numeric(out["lat"], errors="coerce").astype("float64")
    out["lon"] = pd.to_numeric(out["lon"], errors="coerce").astype("float64")
    return out


class AddressPool:
    """Draw unique real addresses for a scenario.

    Parameters
    ----------
    rng
        The scenario's random generator (draws are deterministic for a seed).
    sampler
        ``sample_ips``-compatible function; defaults to :func:`attrib.enrich.sample_ips`.
    """

    def __init__(self, rng: np.random.Generator, sampler: Sampler | None = None) -> None:
        self.rng = rng
        self.sampler = sampler if sampler is not None else _default_sampler()
        self.used: set[str] = set()

    def _sample(self, n: int, **kw: Any) -> pd.DataFrame:
        kw = {k: v for k, v in kw.items() if v is not None}
        try:
            df = self.sampler(n, rng=self.rng, **kw)
        except (DataError, ValueError, KeyError, LookupError) as exc:
            logger.debug("sample_ips(%s, %s) failed: %s", n, kw, exc)
            return pd.DataFrame(columns=list(COLUMNS))
        return df

    def draw(
        self,
        n: int,
        *,
        country: str | None = None,
        net_type: str | None = None,
        asn: int | list[int] | None = None,
    ) -> pd.DataFrame:
        """Return ``n`` addresses not drawn before, with their enrichment.

        When the data holds too few addresses for the constraints, the AS number, then the
        network type, then the country are relaxed (logged), so a scenario always completes.

        Parameters
        ----------
        n
            How many.
        country, net_type, asn
            Constraints, as for :func:`attrib.enrich.sample_ips` (``asn`` may be several).

        Returns
        -------
        pandas.DataFrame
            ``n`` rows with :data:`COLUMNS`.
        """
        if n <= 0:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS})
        attempts: list[dict[str, Any]] = [
            {"country": country, "net_type": net_type, "asn": asn},
            {"country": country, "net_type": net_type},
            {"country": country},
            {},
        ]
        got: list[pd.DataFrame] = []
        need = n
        for i, kw in enumerate(attempts):
            if i and kw == attempts[i - 1]:
                continue
            for _ in range(3):
                df = self._fresh(self._sample(int(need * 1.1) + 2, **kw))
                df = df.iloc[:need]
                self.used.update(df["ip"].tolist())
                got.append(df)
                need -= len(df)
                if need <= 0:
                    break
            if need <= 0:
                break
            logger.info("address draw %s short by %d; relaxing constraints", kw, need)
        if need > 0:
            raise DataError(f"cannot draw {n} distinct addresses from the enrichment data")
        return _plain(pd.concat(got, ignore_index=True))

    def draw_abroad(self, n: int, *, exclude: str, net_type: str | None = None) -> pd.DataFrame:
        """Return ``n`` fresh addresses outside country ``exclude`` (one draw, worldwide).

        Parameters
        ----------
        n
            How many.
        exclude
            ISO country code to avoid.
        net_type
            Network type to require.

        Returns
        -------
        pandas.DataFrame
            ``n`` rows with :data:`COLUMNS`.
        """
        got: list[pd.DataFrame] = []
        need = n
        for _ in range(4):
            if need <= 0:
                break
            df = self._fresh(self._sample(int(need * 1.5) + 4, net_type=net_type))
            df = df[df["country"].astype(str) != exclude].iloc[:need]
            self.used.update(df["ip"].tolist())
            got.append(df)
            need -= len(df)
        if need > 0:
            got.append(self.draw(need, net_type=net_type))
        if not got:
            return self.draw(0)
        return _plain(pd.concat(got, ignore_index=True))

    def _fresh(self, df: pd.DataFrame) -> pd.DataFrame:
        if df.empty:
            return pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS})
        for c in COLUMNS:
            if c not in df.columns:
                df[c] = pd.NA
        ip = df["ip"].astype(object).to_numpy()
        used = self.used
        keep = np.fromiter((x not in used for x in ip), dtype=bool, count=len(ip))
        keep &= ~pd.Series(ip).duplicated().to_numpy()
        return df.loc[keep].reset_index(drop=True)
