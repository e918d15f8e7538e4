"""Token-abuse evidence: mailbox access that no sign-in explains (forged or stolen tokens).

An actor holding a forged or stolen token reads mail without authenticating: the audit log
shows ``MailItemsAccessed`` (or Graph mail reads) from an origin where the account never
signed in, under session/token identifiers no sign-in issued or that turn up from several
networks, often with a client application the tenant rarely uses for mail (CISA AA23-193A).
:class:`TokenAccumulator` folds identity events chunk by chunk into small partial tables;
:func:`token_features` turns them into per-origin features (definitions in
``docs/features.md``) and :func:`token_abuse_score` combines them into one documented
evidence score on a 0-1 (logistic) scale that :func:`apply_token_evidence` merges with the
scorer's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from attrib.features._common import Vocab
from attrib.features.token_evidence import (
    TOKEN_EVIDENCE_THRESHOLD,
    TOKEN_SCORE_WEIGHTS,
    apply_token_evidence,
    token_abuse_score,
    token_reason,
)

__all__ = [
    "ACCESS_NO_SIGNIN_LOOKBACK_S",
    "SIGNIN_EVENT_TYPES",
    "TOKEN_DESCRIPTIVE",
    "TOKEN_EVIDENCE_THRESHOLD",
    "TOKEN_FEATURES",
    "TOKEN_SCORE_WEIGHTS",
    "TokenAccumulator",
    "TokenPartials",
    "apply_token_evidence",
    "token_abuse_score",
    "token_features",
    "token_reason",
]

#: A sign-in this long before an access still explains it (tokens live ~1 h, refresh 24 h+).
ACCESS_NO_SIGNIN_LOOKBACK_S = 7 * 86_400
#: Event types that are authentications (besides Entra sign-ins, recognised by ``signin_kind``).
SIGNIN_EVENT_TYPES = frozenset(
    {
        "UserLoggedIn",
        "user.session.start",
        "user.authentication.sso",
        "user.authentication.auth_via_mfa",
        "user.authentication.verify",
        "SignInLogs",
        "SigninLogs",
        "NonInteractiveUserSignInLogs",
        "AADNonInteractiveUserSignInLogs",
        "ServicePrincipalSignInLogs",
        "AADServicePrincipalSignInLogs",
        "ManagedIdentitySignInLogs",
        "AADManagedIdentitySignInLogs",
    }
)
#: Event type of Graph activity records (requests, neither sign-ins nor, unless mail, access).
GRAPH_EVENT = "MicrosoftGraphActivityLogs"
#: An app used for mail by at most this share of the tenant's mail-reading accounts (or by at
#: most :data:`RARE_APP_USERS` of them) is rare.
RARE_APP_SHARE = 0.05
RARE_APP_USERS = 3
#: An hour (+-1 h) holding less than this share of an account's sign-ins is outside its habit.
OFF_HABIT_SHARE = 0.02
#: Sign-ins an account needs before its habit is judged.
HABIT_MIN_EVENTS = 5
_NS = 10**9
#: Pending partial rows that trigger a merge.
MERGE_ROWS = 2_000_000
_BIG = np.iinfo(np.int64).max
_SMALL = np.iinfo(np.int64).min


@dataclass
class TokenPartials:
    """Merged partial tables of :class:`TokenAccumulator` (integer-coded)."""

    pairs: pd.DataFrame  # ip, user: n_acc, items, n_sync, acc_min, acc_max, n_sig, sig_min/max
    hours: pd.DataFrame  # ip, user, hour: n_sig, n_acc
    tokens: pd.DataFrame  # tok (64-bit hash), ns (0 session, 1 token), ip: n_acc, n_sig
    apps: pd.DataFrame  # app, ip, user: n_acc, first
    mailboxes: pd.DataFrame  # ip, mbx
    app: Vocab
    t0: int  # first identity event (ns)
    sig_kinds: frozenset[str]  # token namespaces ("s", "t") that sign-ins carry


_AGG = {
    "pairs": (
        ["ip", "user"],
        {"n_acc": "sum", "items": "sum", "n_sync": "sum", "acc_min": "min", "acc_max": "max",
         "n_sig": "sum", "sig_min": "min", "sig_max": "max"},
    ),
    "hours": (["ip", "user", "hour"], {"n_sig": "sum", "n_acc": "sum"}),
    "tokens": (["tok", "ns", "ip"], {"n_acc": "sum", "n_sig": "sum"}),
    "apps": (["app", "ip", "user"], {"n_acc": "sum", "first": "min"}),
    "mailboxes": (["ip", "mbx"], {}),
}  # fmt: skip


class TokenAccumulator:
    """Fold identity events into the partial tables behind the token-abuse features.

    Called by :class:`attrib.features.OriginAccumulator` with its origin rows (``_ip`` codes,
    ``_ident`` flags) and account codes, so codes agree with the other feature groups.
    """

    def __init__(self) -> None:
        self._parts: dict[str, list[pd.DataFrame]] = {k: [] for k in _AGG}
        self._rows = 0
        self._app = Vocab()
        self._mbx = Vocab()
        self._t0 = _BIG
        self._sig_kinds: set[str] = set()

    def update(self, ev: pd.DataFrame, user: np.ndarray, access: np.ndarray) -> None:
        """Fold one chunk.

        Parameters
        ----------
        ev
            Origin rows of the events chunk (with ``_ip`` and ``_ident``).
        user
            Account codes (-1 for none), aligned with ``ev``.
        access
            Whether each row is a data access (mail/file), aligned with ``ev``.
        """
        m = ev["_ident"].to_numpy(dtype=bool) & (user >= 0)
        if not m.any():
            return
        e = ev.loc[m]
        u = user[m]
        etype = _text(e, "event_type")
        acc = access[m] | _text(e, "access_type").notna().to_numpy()
        graph = (etype == GRAPH_EVENT).fillna(False).to_numpy(dtype=bool)
        acc &= ~graph | _text(e, "access_type").notna().to_numpy()
        ok = (_text(e, "outcome") == "success").fillna(False).to_numpy(dtype=bool)
        kind_known = _text(e, "signin_kind").notna().to_numpy()
        sig = (
            ok & ~acc & ~graph & (kind_known | etype.isin(SIGNIN_EVENT_TYPES).to_numpy(dtype=bool))
        )
        ts = e["ts"].to_numpy(dtype="datetime64[ns]").astype(np.int64)
        self._t0 = min(self._t0, int(ts.min()))
        ip = e["_ip"].to_numpy(dtype=np.int64)
        self._fold_pairs(e, ip, u, ts, acc, sig)
        hour = (ts // (3600 * _NS)) % 24
        h = pd.DataFrame(
            {"ip": ip, "user": u, "hour": hour, "n_sig": sig.astype(int), "n_acc": acc.astype(int)}
        )
        self._add("hours", h[acc | sig])
        self._fold_tokens(e, ip, acc, sig)
        self._fold_apps(e, ip, u, ts, acc)

    def _add(self, name: str, df: pd.DataFrame) -> None:
        keys, aggs = _AGG[name]
        if not len(df):
            return
        part = df.groupby(keys, sort=False).agg(aggs).reset_index() if aggs else df
        self._parts[name].append(part.drop_duplicates(keys) if not aggs else part)
        self._rows += len(part)
        if self._rows > MERGE_ROWS:  # bounded memory: fold pending parts together
            for k, parts in self._parts.items():
                if len(parts) > 1:
                    self._parts[k] = [_merge(parts, *_AGG[k])]
            self._rows = sum(len(p) for parts in self._parts.values() for p in parts)

    def _fold_pairs(
        self,
        e: pd.DataFrame,
        ip: np.ndarray,
        u: np.ndarray,
        ts: np.ndarray,
        acc: np.ndarray,
        sig: np.ndarray,
    ) -> None:
        items = _num(e, "item_count")
        items = np.where(np.isnan(items), _num(e, "op_count"), items)
        items = np.where(acc, np.nan_to_num(items, nan=1.0), 0.0)
        sync = acc & (_text(e, "access_type").str.lower() == "sync").fillna(False).to_numpy()
        df = pd.DataFrame({
            "ip": ip, "user": u, "n_acc": acc.astype(int), "items": items,
            "n_sync": sync.astype(int),
            "acc_min": np.where(acc, ts, _BIG), "acc_max": np.where(acc, ts, _SMALL),
            "n_sig": sig.astype(int),
            "sig_min": np.where(sig, ts, _BIG), "sig_max": np.where(sig, ts, _SMALL),
        })  # fmt: skip
        self._add("pairs", df[acc | sig])
        mbx_txt = _text(e, "mailbox").fillna(_text(e, "user"))
        mbx = self._mbx.encode(mbx_txt.where(acc))
        keep = mbx >= 0
        self._add("mailboxes", pd.DataFrame({"ip": ip[keep], "mbx": mbx[keep]}))

    def _fold_tokens(
        self, e: pd.DataFrame, ip: np.ndarray, acc: np.ndarray, sig: np.ndarray
    ) -> None:
        for k, (ns, col) in enumerate((("s", "session_id"), ("t", "token_id"))):
            txt = _text(e, col)
            keep = txt.notna().to_numpy() & (acc | sig)
            if not keep.any():
                continue
            if (keep & sig).any():
                self._sig_kinds.add(ns)
            # identifiers are unique per sign-in: keep 64-bit hashes, not the strings
            code = pd.util.hash_array(txt[keep].to_numpy(dtype=object)).view(np.int64)
            self._add("tokens", pd.DataFrame({
                "tok": code, "ns": k, "ip": ip[keep],
                "n_acc": acc[keep].astype(int), "n_sig": sig[keep].astype(int),
            }))  # fmt: skip

    def _fold_apps(
        self, e: pd.DataFrame, ip: np.ndarray, u: np.ndarray, ts: np.ndarray, acc: np.ndarray
    ) -> None:
        app_txt = _text(e, "client_app_id").fillna(_text(e, "app_id")).fillna(_text(e, "app"))
        app = self._app.encode(app_txt.where(acc))
        keep = app >= 0
        if keep.any():
            self._add("apps", pd.DataFrame({
                "app": app[keep], "ip": ip[keep], "user": u[keep], "n_acc": 1, "first": ts[keep],
            }))  # fmt: skip

    def partials(self) -> TokenPartials:
        """Merge the partial tables."""
        merged = {k: _merge(self._parts[k], *_AGG[k]) for k in _AGG}
        self._parts = {k: [v] if len(v) else [] for k, v in merged.items()}
        return TokenPartials(
            **merged,
            app=self._app,
            t0=self._t0,
            sig_kinds=frozenset(self._sig_kinds),
        )


def _merge(parts: list[pd.DataFrame], keys: list[str], aggs: dict[str, str]) -> pd.DataFrame:
    if not parts:
        return pd.DataFrame({c: pd.Series([], dtype="int64") for c in [*keys, *aggs]})
    df = pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
    if len(parts) > 1:
        df = df.groupby(keys, sort=False).agg(aggs).reset_index() if aggs else df
        df = df.drop_duplicates(keys, ignore_index=True)
    return df


def _text(e: pd.DataFrame, col: str) -> pd.Series:
    if col not in e.columns:
        return pd.Series(pd.NA, index=e.index, dtype="string")
    return e[col].astype("string")


def _num(e: pd.DataFrame, col: str) -> np.ndarray:
    if col not in e.columns:
        return np.full(len(e), np.nan)
    return (
        pd.to_numeric(e[col], errors="coerce")
        .astype("Float64")
        .to_numpy(dtype=float, na_value=np.nan)
    )


#: Feature columns of this group (descriptions live in :mod:`attrib.features.columns`).
TOKEN_FEATURES = (
    "access_events",
    "access_accounts",
    "access_mailboxes",
    "access_items",
    "access_no_signin_share",
    "access_no_signin_accounts",
    "access_token_unsigned_share",
    "token_multi_asn",
    "token_multi_country",
    "access_app_tenant_share",
    "access_app_rare_share",
    "access_app_new_share",
    "access_app_tenant_new",
    "access_offhabit_share",
    "sync_share",
)


#: Descriptive (non-model) columns of this group.
TOKEN_DESCRIPTIVE = (
    "token_abuse_score", "access_apps", "access_mailbox_list", "access_account_items",
)  # fmt: skip
#: Accounts listed per origin in ``access_account_items``.
ACCOUNT_ITEMS_LISTED = 50


def token_features(
    t: TokenPartials | None,
    index: pd.Index,
    asn: np.ndarray,
    country: np.ndarray,
    lookback_s: int = ACCESS_NO_SIGNIN_LOOKBACK_S,
    users: Vocab | None = None,
) -> pd.DataFrame:
    """Token-abuse features per origin code (NaN where the origin read no mail/data).

    Parameters
    ----------
    t
        Merged partials (None: no identity events at all).
    index
        Origin codes.
    asn, country
        Enrichment of each origin code in ``index`` (NaN / None when unknown).
    lookback_s
        A sign-in up to this long before an access explains it.
    users
        The account vocabulary (names for ``access_account_items``).

    Returns
    -------
    pandas.DataFrame
        :data:`TOKEN_FEATURES` and :data:`TOKEN_DESCRIPTIVE` (``access_account_items``:
        ``account=items`` pairs, most items first).
    """
    out = pd.DataFrame(index=index, columns=[*TOKEN_FEATURES, "token_abuse_score"], dtype=float)
    out["access_apps"] = pd.Series(pd.NA, index=index, dtype="string[pyarrow]")
    out["access_mailbox_list"] = pd.Series(pd.NA, index=index, dtype="string[pyarrow]")
    out["access_account_items"] = pd.Series(pd.NA, index=index, dtype="string[pyarrow]")
    if t is None or not (t.pairs["n_acc"] > 0).any():
        return out
    ip_asn = pd.Series(pd.to_numeric(pd.Series(asn), errors="coerce").to_numpy(), index=index)
    ip_cc = pd.Series(np.asarray(country, dtype=object), index=index)
    acc = t.pairs[t.pairs["n_acc"] > 0]
    g = acc.groupby("ip")
    out["access_events"] = g["n_acc"].sum().reindex(index).astype(float)
    out["access_accounts"] = g.size().reindex(index).astype(float)
    out["access_items"] = g["items"].sum().reindex(index).astype(float)
    out["sync_share"] = (g["n_sync"].sum() / g["n_acc"].sum()).reindex(index)
    out["access_mailboxes"] = t.mailboxes.groupby("ip").size().reindex(index).astype(float)
    nosig = _no_signin(t.pairs, ip_asn, lookback_s)
    ns = nosig.groupby(acc["ip"].to_numpy())
    out["access_no_signin_share"] = ns.mean().reindex(index)
    out["access_no_signin_accounts"] = ns.sum().reindex(index).astype(float)
    spread = _token_spread(t, ip_asn, ip_cc)
    for c in ("access_token_unsigned_share", "token_multi_asn", "token_multi_country"):
        out[c] = spread[c].reindex(index) if c in spread else np.nan
    for c, v in _app_features(t).items():
        out[c] = v.reindex(index)
    out["access_offhabit_share"] = _off_habit(t).reindex(index)
    out["access_mailbox_list"], out["access_apps"] = _lists(t, index)
    if users is not None:
        out["access_account_items"] = _account_items(acc, users).reindex(index)
    out["token_abuse_score"] = token_abuse_score(out)
    return out


def _account_items(acc: pd.DataFrame, users: Vocab) -> pd.Series:
    """Per origin, ``account=items`` for the accounts it read (most items first)."""
    a = acc.sort_values(["ip", "items"], ascending=[True, False], kind="stable")
    a = a.groupby("ip").head(ACCOUNT_ITEMS_LISTED)
    names = np.asarray(users.values, dtype=object)[a["user"].to_numpy(dtype=np.int64)]
    pair = pd.Series(names, index=a.index) + "=" + a["items"].astype(int).astype(str)
    return pair.groupby(a["ip"].to_numpy()).agg(";".join).astype("string[pyarrow]")


def _no_signin(pairs: pd.DataFrame, ip_asn: pd.Series, lookback_s: int) -> pd.Series:
    """Per access pair: no successful sign-in by the account from the origin or its ASN."""
    acc = pairs[pairs["n_acc"] > 0]
    look = lookback_s * _NS
    own = (acc["n_sig"] > 0) & (acc["sig_min"] <= acc["acc_max"])
    own &= acc["sig_max"] >= acc["acc_min"] - look
    sig = pairs[pairs["n_sig"] > 0].assign(asn=lambda d: d["ip"].map(ip_asn))
    sig = sig.dropna(subset=["asn"])
    by_asn = sig.groupby(["asn", "user"]).agg(s_min=("sig_min", "min"), s_max=("sig_max", "max"))
    a = acc.assign(asn=acc["ip"].map(ip_asn)).join(by_asn, on=["asn", "user"])
    net = a["s_min"].notna() & (a["s_min"] <= a["acc_max"]) & (a["s_max"] >= a["acc_min"] - look)
    return (~(own | net.to_numpy())).astype(float)


def _token_spread(t: TokenPartials, ip_asn: pd.Series, ip_cc: pd.Series) -> pd.DataFrame:
    """Session/token ids an origin read with: unsigned share, networks they were seen from."""
    tk = t.tokens
    cols = ["access_token_unsigned_share", "token_multi_asn", "token_multi_country"]
    if not len(tk):
        return pd.DataFrame(columns=cols, dtype=float)
    tk = tk.assign(asn=tk["ip"].map(ip_asn), cc=tk["ip"].map(ip_cc))
    per = tk.groupby(["tok", "ns"]).agg(
        n_asn=("asn", "nunique"), n_cc=("cc", "nunique"), signed=("n_sig", "sum")
    )
    kinds = [i for i, ns in enumerate(("s", "t")) if ns in t.sig_kinds]
    per["defined"] = per.index.get_level_values("ns").isin(kinds)
    used = tk[tk["n_acc"] > 0].join(per, on=["tok", "ns"])
    g = used.groupby("ip")
    d = used[used["defined"]]
    out = pd.DataFrame({
        cols[0]: (d["signed"] == 0).groupby(d["ip"]).mean(),
        cols[1]: g["n_asn"].max().astype(float),
        cols[2]: g["n_cc"].max().astype(float),
    })  # fmt: skip
    return out


def _app_features(t: TokenPartials) -> dict[str, pd.Series]:
    """Rarity and novelty of the applications an origin read mail with."""
    ap = t.apps
    users_total = ap["user"].nunique()
    app_users = ap.groupby("app")["user"].nunique()
    share = app_users / max(users_total, 1)
    ua_first = ap.groupby(["user", "app"])["first"].min()
    user_first = ap.groupby("user")["first"].min()
    app_first = ap.groupby("app")["first"].min()
    a = ap.assign(
        share=ap["app"].map(share).to_numpy(),
        pair_first=ua_first.reindex(pd.MultiIndex.from_frame(ap[["user", "app"]])).to_numpy(),
        user_first=ap["user"].map(user_first).to_numpy(),
        app_first=ap["app"].map(app_first).to_numpy(),
    )
    day = 86_400 * _NS
    a["new_acct"] = (a["first"] == a["pair_first"]) & (a["user_first"] < a["first"] - day)
    a["new_tenant"] = a["app_first"] > t.t0 + day
    a["rare"] = (a["share"] <= RARE_APP_SHARE) | (a["app"].map(app_users) <= RARE_APP_USERS)
    w = a["n_acc"].astype(float)
    g = a.assign(sw=a["share"] * w, rw=a["rare"] * w, nw=a["new_tenant"] * w).groupby("ip")
    wsum = g["n_acc"].sum().astype(float)
    return {
        "access_app_tenant_share": g["sw"].sum() / wsum,
        "access_app_rare_share": g["rw"].sum() / wsum,
        "access_app_new_share": a.groupby("ip")["new_acct"].mean(),
        "access_app_tenant_new": g["nw"].sum() / wsum,
    }


def _off_habit(t: TokenPartials) -> pd.Series:
    """Share of an origin's accesses at hours (+-1 h) when its accounts never sign in.

    An account's habit is the hours of its successful sign-ins (interactive and token
    refreshes, any origin): a human's day. Forged or stolen tokens read mail without signing in,
    often in the operators' day rather than the victim's.
    """
    h = t.hours
    sig = h.groupby(["user", "hour"])["n_sig"].sum().unstack(fill_value=0)
    sig = sig.reindex(columns=range(24), fill_value=0)
    arr = sig.to_numpy(dtype=float)
    near = arr + np.roll(arr, 1, axis=1) + np.roll(arr, -1, axis=1)
    total = arr.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        share = pd.DataFrame(near / total[:, None], index=sig.index)
    share = share[total >= HABIT_MIN_EVENTS]
    a = h[h["n_acc"] > 0]
    stacked = share.stack()
    look = stacked.reindex(pd.MultiIndex.from_frame(a[["user", "hour"]])).to_numpy()
    ok = ~np.isnan(look)
    off = ok & (np.nan_to_num(look, nan=1.0) < OFF_HABIT_SHARE)
    d = pd.DataFrame({"ip": a["ip"], "n": a["n_acc"] * ok, "off": a["n_acc"] * off})
    s = d.groupby("ip")[["n", "off"]].sum()
    return (s["off"] / s["n"].where(s["n"] > 0)).astype(float)


def _lists(t: TokenPartials, index: pd.Index) -> tuple[pd.Series, pd.Series]:
    """The apps an origin read mail with (by use) as ``;``-joined text; mailbox count text."""
    ap = t.apps.groupby(["ip", "app"])["n_acc"].sum().reset_index()
    ap = ap.sort_values(["ip", "n_acc"], ascending=[True, False], kind="stable")
    names = np.asarray(t.app.values, dtype=object)
    ap["name"] = names[ap["app"].to_numpy(dtype=np.int64)]
    apps = ap.groupby("ip").head(5).groupby("ip")["name"].agg(";".join)
    mbx = t.mailboxes.groupby("ip").size().astype(str) + " mailboxes"
    return (
        mbx.reindex(index).astype("string[pyarrow]"),
        apps.reindex(index).astype("string[pyarrow]"),
    )
