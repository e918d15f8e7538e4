"""The "access without sign-in" view: per account, which mailboxes, apps and origins.

Built from the scored origins table: every origin whose token-abuse evidence
(``token_abuse_score``, see :mod:`attrib.features.tokens`) reaches the threshold is split over
the accounts it read (``accounts``), so an analyst sees, per account, the networks that read its
mail with no sign-in, with which applications, how much, and when. The same origins are exported
to STIX as infrastructure related to the ATT&CK techniques T1550.001 (application access token)
and T1114.002 (remote email collection).
"""

from __future__ import annotations

from typing import Any

import pandas as pd

__all__ = ["TOKEN_THRESHOLD", "TOKEN_VIEW_COLUMNS", "token_access_view", "token_origins"]

#: Evidence score from which an origin counts as token abuse.
TOKEN_THRESHOLD = 0.5
#: Columns of :func:`token_access_view`.
TOKEN_VIEW_COLUMNS = (
    "account", "origins", "networks", "apps", "mailboxes", "items", "first_seen", "last_seen",
    "evidence",
)  # fmt: skip


def token_origins(origins: pd.DataFrame, threshold: float = TOKEN_THRESHOLD) -> pd.DataFrame:
    """Origins whose token-abuse evidence reaches ``threshold``, strongest first.

    Parameters
    ----------
    origins
        The origins table (with ``token_abuse_score``; without it, none qualify).
    threshold
        Minimum evidence score.

    Returns
    -------
    pandas.DataFrame
        The qualifying rows.
    """
    if "token_abuse_score" not in origins.columns:
        return origins.iloc[:0]
    s = pd.to_numeric(origins["token_abuse_score"], errors="coerce")
    out = origins[(s >= threshold).fillna(False).to_numpy(dtype=bool)]
    return out.sort_values("token_abuse_score", ascending=False, kind="stable")


def _net(row: dict[Any, Any]) -> str:
    asn, org, cc = row.get("asn"), row.get("as_org"), row.get("country")
    head = f"AS{asn}" if asn is not None and not pd.isna(asn) else "AS?"
    tail = f" {org}" if isinstance(org, str) and org else ""
    return f"{head}{tail} ({cc if isinstance(cc, str) and cc else '?'})"


def _account_items(row: dict[Any, Any]) -> dict[str, float]:
    """``access_account_items`` (``account=items;...``) as a mapping."""
    text = row.get("access_account_items")
    out: dict[str, float] = {}
    if isinstance(text, str):
        for part in text.split(";"):
            name, sep, n = part.rpartition("=")
            if sep and name:
                out[name] = float(n) if n.isdigit() else 0.0
    return out


def _empty() -> dict[str, Any]:
    return {"origins": [], "networks": [], "apps": [], "mailboxes": 0.0, "items": 0.0,
            "first": [], "last": [], "evidence": 0.0}  # fmt: skip


def token_access_view(origins: pd.DataFrame, threshold: float = TOKEN_THRESHOLD) -> pd.DataFrame:
    """One row per account read from origins with token-abuse evidence.

    Parameters
    ----------
    origins
        The origins table.
    threshold
        Minimum evidence score of an origin.

    Returns
    -------
    pandas.DataFrame
        :data:`TOKEN_VIEW_COLUMNS`: ``origins`` (``;``-joined addresses), ``networks`` (their
        ASNs), ``apps``, ``mailboxes`` and ``items`` (summed over those origins, which may read
        other accounts too), ``first_seen``/``last_seen`` and the strongest ``evidence`` score.
    """
    tok = token_origins(origins, threshold)
    acc: dict[str, dict[str, Any]] = {}
    for row in tok.to_dict("records"):
        per = _account_items(row)
        names = list(per) or str(row.get("accounts") or "").split(";")
        for name in (n for n in names if n):
            a = acc.setdefault(name, _empty())
            a["origins"].append(str(row["ip"]))
            a["networks"].append(_net(row))
            a["apps"] += [x for x in str(row.get("access_apps") or "").split(";") if x]
            a["mailboxes"] = max(a["mailboxes"], float(row.get("access_mailboxes") or 0))
            a["items"] += per.get(name, float(row.get("access_items") or 0))
            a["first"].append(row.get("first_seen"))
            a["last"].append(row.get("last_seen"))
            a["evidence"] = max(a["evidence"], float(row["token_abuse_score"]))
    rows = []
    for name, a in acc.items():
        first = [t for t in a["first"] if t is not None and not pd.isna(t)]
        last = [t for t in a["last"] if t is not None and not pd.isna(t)]
        rows.append({
            "account": name,
            "origins": ";".join(dict.fromkeys(a["origins"])),
            "networks": ";".join(dict.fromkeys(a["networks"])),
            "apps": ";".join(dict.fromkeys(a["apps"])),
            "mailboxes": int(a["mailboxes"]), "items": int(a["items"]),
            "first_seen": min(first) if first else pd.NaT,
            "last_seen": max(last) if last else pd.NaT,
            "evidence": round(a["evidence"], 3),
        })  # fmt: skip
    df = pd.DataFrame(rows, columns=list(TOKEN_VIEW_COLUMNS))
    return df.sort_values(["evidence", "items"], ascending=False, kind="stable").reset_index(
        drop=True
    )
