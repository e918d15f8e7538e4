"""Chunked, bounded-memory aggregation of events into per-origin partial tables.

:class:`OriginAccumulator` reduces every events chunk to small partial tables keyed by integer
codes (origin, account, day, hour, trait value, RTT bin, ...) and merges them as they grow, so
memory follows the number of distinct keys, not the number of events. ``result()`` turns the
partials into the origins table (see :func:`attrib.features.build_origins`).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd

from attrib.context import OrgContext
from attrib.features._common import IDENTITY_SOURCES, Vocab, fnum, origins_eligible
from attrib.features._distinct import DistinctSketches, value_hashes
from attrib.features.partials import (
    ACCESS_EVENT_TYPES,
    ERROR_CODE_GROUPS,
    TRAITS,
    Partials,
)
from attrib.features.tokens import TokenAccumulator

__all__ = [
    "ACCESS_EVENT_TYPES",
    "ERROR_CODE_GROUPS",
    "OriginAccumulator",
    "Partials",
]  # re-exported

logger = logging.getLogger(__name__)

_NS_DAY = 86_400 * 10**9
_NS_MIN = 60 * 10**9
_NS_HOUR = 3_600 * 10**9


_WIDE = frozenset({"ts_min", "ts_max", "success_min", "access_max"})


def _narrow(df: pd.DataFrame) -> pd.DataFrame:
    """Codes, days, minutes and counts fit 32 bits: halve the partials' memory."""
    cols = {c: np.int32 for c in df.columns if df[c].dtype == np.int64 and c not in _WIDE}
    return df.astype(cols) if cols else df


@dataclass
class _Table:
    keys: list[str]
    aggs: dict[str, str]
    parts: list[pd.DataFrame] = field(default_factory=list)
    rows: int = 0

    def add(self, df: pd.DataFrame) -> None:
        if len(df):
            self.parts.append(_narrow(df))
            self.rows += len(df)

    def merged(self) -> pd.DataFrame:
        if not self.parts:
            return pd.DataFrame({c: pd.Series([], dtype="int64") for c in [*self.keys, *self.aggs]})
        df = self.parts[0] if len(self.parts) == 1 else pd.concat(self.parts, ignore_index=True)
        if len(self.parts) > 1:
            if self.aggs:
                df = df.groupby(self.keys, sort=False).agg(self.aggs).reset_index()
            else:
                df = df.drop_duplicates(self.keys, ignore_index=True)
        df = _narrow(df)
        self.parts = [df]
        self.rows = len(df)
        return df


def _tables() -> dict[str, _Table]:
    s = "sum"
    return {
        "ip": _Table(
            ["ip"],
            {
                "n": s,
                "n_conn": s,
                "n_id": s,
                "n_signin": s,
                "n_success": s,
                "n_failure": s,
                "e_invalid_password": s,
                "e_unknown_account": s,
                "e_locked": s,
                "e_mfa": s,
                "n_work": s,
                "n_syn": s,
                "n_tunnel": s,
                "n_pppoe": s,
                "ts_min": "min",
                "ts_max": "max",
            },
        ),
        "day": _Table(["ip", "day"], {"n": s, "n_signin": s, "n_failure": s}),
        "acct": _Table(["ip", "user", "day"], {"n": s, "n_signin": s, "n_success": s}),
        # which User-Agent (device) each account uses from each origin, and with what outcome
        "acct_ua": _Table(["ip", "user", "ua"], {"n_signin": s, "n_success": s}),
        "host": _Table(["ip", "host"], {}),
        "svc": _Table(["ip", "svc"], {}),
        "trait": _Table(["ip", "trait", "value"], {"n": s}),
        "rtt": _Table(["ip", "kind", "ms"], {"n": s}),
        "access": _Table(["ip", "user"], {"success_min": "min", "access_max": "max"}),
        "travel": _Table(["user", "ip", "minute"], {"n": s}),
    }


class OriginAccumulator:
    """Aggregate events chunk by chunk into per-origin features in bounded memory.

    Parameters
    ----------
    context
        The organisation (time zone, working hours, offices, services); default: UTC 8-18.
    max_rows
        Merge a partial table once its pending rows exceed this many.

    Examples
    --------
    >>> acc = OriginAccumulator()
    >>> for chunk in attrib.iter_read("logs/"):  # doctest: +SKIP
    ...     acc.update(chunk)
    >>> origins = acc.result(enricher=enricher)  # doctest: +SKIP
    """

    def __init__(self, context: OrgContext | None = None, *, max_rows: int = 2_000_000) -> None:
        self.context = context if context is not None else OrgContext()
        self.max_rows = max_rows
        self._ip = Vocab()
        self._user = Vocab()
        self._trait = {t: Vocab() for t in TRAITS}
        self._host = Vocab()
        self._svc = Vocab()
        self._eligible: list[bool] = []
        self._t = _tables()
        self._hours = np.zeros((0, 24), dtype=np.uint32)
        self._has_identity = False
        self._has_conn = False
        self._token = TokenAccumulator()
        # distinct (origin, host/service) past a bound per origin: HyperLogLog (see _distinct)
        self._sk = {"host": DistinctSketches(), "svc": DistinctSketches()}
        self._vh = {"host": np.zeros(0, dtype=np.uint64), "svc": np.zeros(0, dtype=np.uint64)}
        self.events_seen = 0

    def update(self, events: pd.DataFrame) -> OriginAccumulator:
        """Fold one events chunk (canonical columns; missing columns count as null).

        Parameters
        ----------
        events
            A chunk of the events table.

        Returns
        -------
        OriginAccumulator
            ``self``.
        """
        self.events_seen += len(events)
        ev = _origin_rows(events, self)
        if not len(ev):
            return self
        self._fold(ev)
        for name, tab in self._t.items():
            if tab.rows > self.max_rows and len(tab.parts) > 1:
                tab.merged()
                if name in self._sk:
                    self._bound_set(name)
        return self

    def _hashes(self, name: str) -> np.ndarray:
        vocab = self._host if name == "host" else self._svc
        self._vh[name] = value_hashes(vocab, self._vh[name])
        return self._vh[name]

    def _bound_set(self, name: str) -> pd.DataFrame:
        """Merge a distinct-set table and move the rows of origins past the bound to sketches."""
        tab = self._t[name]
        df = self._sk[name].bound(tab.merged(), name, self._hashes(name))
        tab.parts, tab.rows = [df], len(df)
        return df

    def _add_set(self, name: str, ip: np.ndarray, value: np.ndarray) -> None:
        sk = self._sk[name]
        s = sk.mask(ip)
        if s.any():
            sk.add(ip[s], self._hashes(name)[value[s]])
            ip, value = ip[~s], value[~s]
        if len(ip):
            self._t[name].add(pd.DataFrame({"ip": ip, name: value}).drop_duplicates())

    def merge(self, other: OriginAccumulator) -> OriginAccumulator:
        """Fold the state of another accumulator (same context) into this one.

        The result is what one accumulator reaches on this one's input followed by
        ``other``'s; merging is associative, so parts built on workers (states pickle) can be
        combined in any tree. ``other`` is not changed.

        Parameters
        ----------
        other
            An accumulator built on another part of the input.

        Returns
        -------
        OriginAccumulator
            ``self``.
        """
        from attrib.features._merge import merge_origin

        return merge_origin(self, other)

    def _ip_codes(self, s: pd.Series) -> np.ndarray:
        codes = self._ip.encode(s)
        new = self._ip.values[len(self._eligible) :]
        if new:
            self._eligible.extend(origins_eligible(new, self.context).tolist())
        return codes

    def _fold(self, ev: pd.DataFrame) -> None:
        ip = ev["_ip"].to_numpy()
        ts = ev["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        ident = ev["_ident"].to_numpy(dtype=bool)
        self._has_identity |= bool(ident.any())
        self._has_conn |= bool((~ident).any())
        etype = ev["event_type"].astype("string").fillna("")
        access = etype.isin(ACCESS_EVENT_TYPES).to_numpy()
        ok, bad = _is(ev["outcome"], "success"), _is(ev["outcome"], "failure")
        signin = ident & ~access & (ok | bad)
        succ = signin & ok
        fail = signin & bad
        err = ev["error_code"].astype("string").fillna("")
        day = ts // _NS_DAY
        user = self._user.encode(ev["user"].where(ident))
        base = pd.DataFrame(
            {
                "ip": ip,
                "n": 1,
                "n_conn": (~ident).astype(np.int64),
                "n_id": ident.astype(np.int64),
                "n_signin": signin.astype(np.int64),
                "n_success": succ.astype(np.int64),
                "n_failure": fail.astype(np.int64),
            }
        )
        for g, codes in ERROR_CODE_GROUPS.items():
            base[f"e_{g}"] = (fail & err.isin(codes).to_numpy()).astype(np.int64)
        base["n_work"] = _in_work_hours(ev["ts"], self.context).astype(np.int64)
        tcp = ev["tcp_fp"].notna().to_numpy()
        hint = ev["tunnel_hint"].astype("string").fillna("")
        pppoe = hint.str.startswith("pppoe").to_numpy()
        base["n_syn"] = tcp.astype(np.int64)
        base["n_tunnel"] = (tcp & (hint != "").to_numpy() & ~pppoe).astype(np.int64)
        base["n_pppoe"] = (tcp & pppoe).astype(np.int64)
        base["ts_min"] = ts
        base["ts_max"] = ts
        t = self._t
        t["ip"].add(base.groupby("ip", sort=False).agg(t["ip"].aggs).reset_index())
        base["day"] = day
        t["day"].add(
            base.groupby(["ip", "day"], sort=False)[["n", "n_signin", "n_failure"]]
            .sum()
            .reset_index()
        )
        self._fold_hours(ip, (ts // _NS_HOUR) % 24)
        ua = self._trait["ua"].encode(ev["user_agent"].astype("string").where(ident))
        self._fold_identity(base, user, ident, succ, access, ts, ua)
        self._token.update(ev, user, access)
        self._fold_sets(ev, ip, ident)
        self._fold_rtt(ev, ip)

    def _fold_hours(self, ip: np.ndarray, hour: np.ndarray) -> None:
        """UTC hour-of-day histogram per origin, dense (24 counters per origin code)."""
        need = len(self._ip)
        if need > len(self._hours):
            grown = np.zeros((max(need, 2 * len(self._hours), 1024), 24), dtype=np.uint32)
            grown[: len(self._hours)] = self._hours
            self._hours = grown
        idx = ip.astype(np.int64) * 24 + hour
        flat = self._hours.reshape(-1)
        if need * 24 <= 4 * len(idx):
            flat[: need * 24] += np.bincount(idx, minlength=need * 24).astype(np.uint32)
        else:
            u, n = np.unique(idx, return_counts=True)
            flat[u] += n.astype(np.uint32)

    def _fold_identity(
        self,
        base: pd.DataFrame,
        user: np.ndarray,
        ident: np.ndarray,
        succ: np.ndarray,
        access: np.ndarray,
        ts: np.ndarray,
        ua: np.ndarray | None = None,
    ) -> None:
        m = ident & (user >= 0)
        if not m.any():
            return
        a = pd.DataFrame(
            {
                "ip": base["ip"].to_numpy()[m],
                "user": user[m],
                "day": base["day"].to_numpy()[m],
                "n": 1,
                "n_signin": base["n_signin"].to_numpy()[m],
                "n_success": succ[m].astype(np.int64),
            }
        )
        self._t["acct"].add(a.groupby(["ip", "user", "day"], sort=False).sum().reset_index())
        if ua is not None:
            d = a[["ip", "user", "n_signin", "n_success"]].assign(ua=ua[m])
            d = d[d["ua"] >= 0]
            self._t["acct_ua"].add(d.groupby(["ip", "user", "ua"], sort=False).sum().reset_index())
        big = np.iinfo(np.int64).max
        small = np.iinfo(np.int64).min
        b = pd.DataFrame(
            {
                "ip": a["ip"],
                "user": a["user"],
                "success_min": np.where(succ[m], ts[m], big),
                "access_max": np.where(access[m], ts[m], small),
            }
        )
        b = b[(succ[m] | access[m])]  # failed attempts say nothing about success -> access
        self._t["access"].add(
            b.groupby(["ip", "user"], sort=False)
            .agg({"success_min": "min", "access_max": "max"})
            .reset_index()
        )
        c = pd.DataFrame({"user": a["user"], "ip": a["ip"], "minute": ts[m] // _NS_MIN, "n": 1})
        self._t["travel"].add(c.groupby(["user", "ip", "minute"], sort=False).sum().reset_index())

    def _fold_sets(self, ev: pd.DataFrame, ip: np.ndarray, ident: np.ndarray) -> None:
        host = self._host.encode(ev["dst_ip"].where(~ident))
        m = host >= 0
        if m.any():
            self._add_set("host", ip[m], host[m])
        svc = self._svc_codes(ev, ident)
        m = svc >= 0
        if m.any():
            self._add_set("svc", ip[m], svc[m])
        parts = []
        for k, (name, cols) in enumerate(TRAITS.items()):
            s = ev[cols[0]].astype("string")
            for extra in cols[1:]:
                s = s.fillna(ev[extra].astype("string"))
            code = self._trait[name].encode(s)
            mm = code >= 0
            if mm.any():
                parts.append(pd.DataFrame({"ip": ip[mm], "trait": k, "value": code[mm], "n": 1}))
        if parts:
            tr = pd.concat(parts, ignore_index=True)
            self._t["trait"].add(
                tr.groupby(["ip", "trait", "value"], sort=False).sum().reset_index()
            )

    def _svc_codes(self, ev: pd.DataFrame, ident: np.ndarray) -> np.ndarray:
        """Service codes: the app of identity rows, ``port:N`` of the others.

        Integer ports are keyed as numbers and only the distinct ones become text (the codes
        and their order are those of encoding ``"port:" + port`` row by row).
        """
        port = ev["dst_port"]
        if not pd.api.types.is_integer_dtype(port.dtype):
            txt = ev["app"].astype("string").where(ident, "port:" + port.astype("string"))
            return self._svc.encode(txt)
        key = np.where(ident, -1, port.to_numpy(dtype=np.int64, na_value=-1))
        apps: list[str] = []
        if ident.any():
            app = ev["app"].astype("string")[ident]
            acode, auniq = pd.factorize(app.astype(object).where(app.notna(), None).to_numpy())
            key[ident] = np.where(acode >= 0, 65_536 + acode, -1)
            apps = [str(a) for a in auniq]
        inv, uk = pd.factorize(key)
        valid = uk >= 0
        texts = [apps[k - 65_536] if k >= 65_536 else f"port:{k}" for k in uk[valid].tolist()]
        lut = np.full(len(uk), -1, dtype=np.int64)
        lut[valid] = self._svc._lut(texts)[:-1]
        return lut[inv]

    def _fold_rtt(self, ev: pd.DataFrame, ip: np.ndarray) -> None:
        syn, ack, app = (fnum(ev[c]) for c in ("rtt_syn_ms", "rtt_ack_ms", "rtt_app_ms"))
        transport = np.where(
            np.isnan(syn) & np.isnan(ack), np.nan, np.nan_to_num(syn) + np.nan_to_num(ack)
        )
        parts = []
        for k, v in enumerate((transport, app, app - transport)):
            mm = ~np.isnan(v)
            if mm.any():
                parts.append(
                    pd.DataFrame(
                        {"ip": ip[mm], "kind": k, "ms": np.round(v[mm]).astype(np.int64), "n": 1}
                    )
                )
        if parts:
            r = pd.concat(parts, ignore_index=True)
            self._t["rtt"].add(r.groupby(["ip", "kind", "ms"], sort=False).sum().reset_index())

    def partials(self) -> Partials:
        """Merge and return the partial tables (used by ``result``)."""
        return Partials(
            ip=self._ip,
            user=self._user,
            trait=self._trait,
            tables={
                k: self._bound_set(k) if k in self._sk else v.merged() for k, v in self._t.items()
            },  # fmt: skip
            distinct={k: sk.estimates() for k, sk in self._sk.items() if len(sk)},
            eligible=np.asarray(self._eligible, dtype=bool),
            hours=self._hours,
            has_identity=self._has_identity,
            has_conn=self._has_conn,
            token=self._token.partials() if self._has_identity else None,
        )

    def result(
        self,
        enrichment: pd.DataFrame | None = None,
        *,
        enricher: object | None = None,
        history: pd.DataFrame | None = None,
    ) -> pd.DataFrame:
        """Build the origins table from everything folded so far.

        Parameters
        ----------
        enrichment
            ``ip`` + enrichment columns for (a superset of) the origins, or None.
        enricher
            An :class:`attrib.enrich.Enricher` used when ``enrichment`` is None.
        history
            Earlier sightings (``ip``, ``first_seen``, ``last_seen``, ``days_seen``), or None.

        Returns
        -------
        pandas.DataFrame
            One row per origin; see :func:`attrib.features.build_origins`.
        """
        from attrib.features.assemble import assemble

        return assemble(self.partials(), self.context, enrichment, enricher, history)


def _origin_rows(events: pd.DataFrame, acc: OriginAccumulator) -> pd.DataFrame:
    """The rows whose ``src_ip`` is an origin, with ``_ip`` codes and ``_ident`` flags."""
    ev = events
    for c in ("src_ip", "ts"):
        if c not in ev.columns:
            return ev.iloc[:0]
    ev = ev[ev["src_ip"].notna() & ev["ts"].notna()]
    missing = [c for c in _NEEDED if c not in ev.columns]
    if missing:
        ev = ev.assign(**{c: pd.Series(pd.NA, index=ev.index, dtype="object") for c in missing})
    codes = acc._ip_codes(ev["src_ip"].astype("string"))
    keep = np.asarray(acc._eligible, dtype=bool)[codes] if len(codes) else np.zeros(0, bool)
    # a shallow copy when every row stays: the added columns never reach the caller's frame
    ev = ev.copy(deep=False) if keep.all() else ev[keep].copy()
    ev["_ip"] = codes[keep]
    by_source = ev["source"].isin(IDENTITY_SOURCES).to_numpy(dtype=bool)  # categorical: no text
    ident = by_source | (ev["dst_ip"].isna() & ev["user"].notna()).to_numpy(dtype=bool)
    ev["_ident"] = ident
    if not pd.api.types.is_datetime64_any_dtype(ev["ts"]):
        ev["ts"] = pd.to_datetime(ev["ts"], utc=True)
    elif getattr(ev["ts"].dt, "tz", None) is None:
        ev["ts"] = ev["ts"].dt.tz_localize("UTC")
    return ev


_NEEDED = (
    "access_type",
    "signin_kind",
    "dst_ip",
    "dst_port",
    "user",
    "app",
    "event_type",
    "user_agent",
    "outcome",
    "error_code",
    "ja4",
    "ja3",
    "tcp_fp",
    "tcp_os",
    "tunnel_hint",
    "rtt_syn_ms",
    "rtt_ack_ms",
    "rtt_app_ms",
    "source",
)


_NS_QUARTER = 15 * _NS_MIN


def _is(s: pd.Series, value: str) -> np.ndarray:
    """``s == value`` as plain bools (null: False), on categories without making text."""
    return np.asarray((s == value).fillna(False), dtype=bool)


def _in_work_hours(ts: pd.Series, ctx: OrgContext) -> np.ndarray:
    """Whether each timestamp falls on a weekday inside the organisation's local work hours.

    Local time is computed once per distinct UTC quarter hour: every UTC offset and every
    offset change falls on a quarter hour, so all instants of one quarter share their local
    hour and weekday.
    """
    ns = ts.to_numpy(dtype="datetime64[ns]").astype(np.int64)
    q = ns // _NS_QUARTER
    uq, inv = np.unique(q, return_inverse=True)
    local = pd.DatetimeIndex(uq * _NS_QUARTER, tz="UTC").tz_convert(ZoneInfo(ctx.timezone))
    h, wd = np.asarray(local.hour), np.asarray(local.day_of_week)
    ok = (wd < 5) & (h >= ctx.work_hours[0]) & (h < ctx.work_hours[1])
    return np.asarray(ok[inv.reshape(-1)], dtype=bool)
