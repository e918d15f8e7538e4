"""The token-abuse evidence score, its sentence, and its merge into scored origins.

:func:`token_abuse_score` combines the features of :mod:`attrib.features.tokens` into one
documented score on a 0-1 (logistic) scale; :func:`token_reason` says it in one sentence; and
:func:`apply_token_evidence` lifts scored origins to it (``attrib analyze`` does, after the
model). Definitions and the measured behaviour: ``docs/features.md``, ``docs/simulator.md``.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = [
    "TOKEN_EVIDENCE_THRESHOLD",
    "TOKEN_SCORE_WEIGHTS",
    "apply_token_evidence",
    "token_abuse_score",
    "token_reason",
]

#: Weights of :func:`token_abuse_score` (logistic). Set by hand from the mechanism so that no
#: single piece of evidence reaches 0.5, checked on ``token_forgery`` seeds 1-3 and measured on
#: held-out seeds (``bench/token_forgery_eval.py``; figures in ``docs/simulator.md``). Not fitted.
TOKEN_SCORE_WEIGHTS: dict[str, float] = {
    "intercept": -6.0,
    "access_no_signin_share": 3.0,
    "access_token_unsigned_share": 1.5,
    "token_multi_asn": 1.5,
    "access_app_rare_share": 2.5,
    "access_app_new_share": 1.0,
    "access_offhabit_share": 1.0,
    "sync_share": 0.5,
}
#: Evidence score at which :func:`apply_token_evidence` lifts an origin's score.
TOKEN_EVIDENCE_THRESHOLD = 0.5


def token_abuse_score(f: pd.DataFrame) -> np.ndarray:
    """The documented token-abuse evidence score (0-1; NaN where the origin read no mail).

    A logistic combination of the evidence (weights :data:`TOKEN_SCORE_WEIGHTS`): access with
    no sign-in from the origin or its network, under identifiers no sign-in issued or seen from
    several networks, with an app few of the tenant's accounts use for mail or new for the
    account, at hours outside the account's habit, by folder sync. Missing evidence counts as
    absent (0).

    Parameters
    ----------
    f
        Token features (at least the weighted columns and ``access_events``).

    Returns
    -------
    numpy.ndarray
        One score per row.
    """
    w = TOKEN_SCORE_WEIGHTS
    z = np.full(len(f), w["intercept"])
    for col, weight in w.items():
        if col == "intercept":
            continue
        v = pd.to_numeric(f[col], errors="coerce").to_numpy(dtype=float)
        if col == "token_multi_asn":
            v = (v > 1).astype(float)
        z = z + weight * np.nan_to_num(v, nan=0.0)
    score = 1.0 / (1.0 + np.exp(-z))
    has = pd.to_numeric(f["access_events"], errors="coerce").to_numpy(dtype=float) > 0
    return np.where(has, score, np.nan)


def token_reason(row: pd.Series) -> str:
    """One analyst sentence for an origin's token-abuse evidence.

    Parameters
    ----------
    row
        An origins row with the token features.

    Returns
    -------
    str
        E.g. "read 1,240 items of 3 mailboxes with an app few of this tenant's accounts use,
        with no sign-in from this network".
    """

    def num(c: str) -> float:
        v = row.get(c)
        return float(v) if v is not None and not pd.isna(v) else math.nan

    items, mbx = num("access_items"), num("access_mailboxes")
    parts = [f"read {int(items or 0):,} items of {int(mbx or 0):,} mailboxes"]
    if num("access_app_tenant_new") > 0.5:
        parts.append("with an app this tenant had not used for mail before")
    elif num("access_app_rare_share") > 0.5:
        parts.append("with an app few of this tenant's accounts use for mail")
    if num("access_no_signin_share") > 0.5:
        parts.append("with no sign-in by those accounts from this network")
    if num("access_token_unsigned_share") > 0.5:
        parts.append("under session ids no sign-in issued")
    if num("token_multi_asn") > 1:
        parts.append(
            f"with sessions also used from {int(num('token_multi_asn')) - 1} other networks"
        )
    if num("access_offhabit_share") > 0.5:
        parts.append("at hours the accounts are not usually active")
    return ", ".join(parts)


def apply_token_evidence(
    origins: pd.DataFrame, threshold: float = TOKEN_EVIDENCE_THRESHOLD
) -> pd.DataFrame:
    """Merge the token-abuse evidence into scored origins (score, rank and reasons).

    Where ``token_abuse_score`` reaches ``threshold`` and exceeds the scorer's ``score``, the
    origin's score becomes the evidence score (both on a 0-1 scale; the evidence score is not
    fitted, its threshold is measured in ``docs/simulator.md``) and the
    evidence sentence leads its ``reasons``; ranks are recomputed. Other origins are unchanged.

    Parameters
    ----------
    origins
        Scored origins (``score``, ``rank``, ``reasons``) with the token features.
    threshold
        Evidence score from which the evidence counts.

    Returns
    -------
    pandas.DataFrame
        A new frame, re-ranked.
    """
    if "token_abuse_score" not in origins.columns or "score" not in origins.columns:
        return origins
    out = origins.reset_index(drop=True)
    tok = pd.to_numeric(out["token_abuse_score"], errors="coerce").to_numpy(dtype=float)
    score = pd.to_numeric(out["score"], errors="coerce").to_numpy(dtype=float)
    lift = (tok >= threshold) & ~(tok <= np.nan_to_num(score, nan=0.0))
    if not lift.any():
        return out
    out.loc[lift, "score"] = tok[lift]
    if "reasons" in out.columns:
        said = out.loc[lift].apply(token_reason, axis=1)
        old = out.loc[lift, "reasons"].astype("string").fillna("")
        out.loc[lift, "reasons"] = (said + np.where(old != "", "; " + old, "")).to_numpy()
    out = out.sort_values("score", ascending=False, kind="stable").reset_index(drop=True)
    if "rank" in out.columns:
        out["rank"] = np.arange(1, len(out) + 1)
    return out
