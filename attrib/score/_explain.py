"""Per-origin explanations: the features that raised an origin's score, in words and as data.

Contributions come from the additive model (exact: base logit + contributions = logit).
Rendering is vectorised per feature (one template, many values), so explaining a million
origins costs one pass over the selected (origin, feature) pairs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from typing import Any

import numpy as np

__all__: list[str] = []  # private module


#: Features that are never evidence *toward* suspicion: what they measure is the organisation's
#: own habits (or a bare count of breadth); when they raise a score it is because something is
#: absent, and absences are not reasons an analyst can act on. They appear as counter-evidence.
NOT_REASONS = frozenset({
    "tenant_routine_accounts", "tenant_routine_share", "tenant_success_days",
    "tenant_success_accounts", "tenant_success_share", "tenant_shared_nat",
    "ctx_cluster_routine_share", "ctx_tool_routine_share", "prior_days_seen", "seen_before",
    "is_office", "n_services", "n_events", "net_type_confidence", "same_country",
    "events_per_day", "ua_peers", "ja4_peers", "tcp_fp_peers",
})  # fmt: skip
#: Features whose low values are evidence (a short life), so 0 is not an absence.
LOW_IS_EVIDENCE = frozenset({"lifetime_days", "duty_cycle"})
_FLAG_PREFIXES = ("is_", "tag_")
_FLAGS = frozenset({"same_country", "os_mismatch", "seen_before", "success_then_access"})
_SHARES = frozenset({"duty_cycle", "failure_ratio"})


def format_value(feature: str, value: float) -> str:
    """Format a feature value the way an analyst reads it.

    Shares and ratios in [0, 1] as percentages, yes/no flags as ``yes``/``no``, counts as
    integers, other numbers with sensible precision.
    """
    if math.isnan(value):
        return "unknown"
    if feature.startswith(_FLAG_PREFIXES) or feature in _FLAGS:
        return "yes" if value >= 0.5 else "no"
    if (feature.endswith("_share") or feature in _SHARES) and 0.0 <= value <= 1.0:
        return f"{value:.0%}"
    return _fmt_number(value)


def _fmt_number(value: float) -> str:
    if float(value).is_integer() and abs(value) < 1e15:
        return str(int(value))
    a = abs(value)
    if a >= 100:
        return f"{value:.0f}"
    if a >= 10:
        return f"{value:.1f}"
    return f"{value:.2g}"


def render(template: str | None, feature: str, value: float) -> str:
    """One analyst sentence for ``feature = value``.

    ``{value}`` in ``template`` is replaced by :func:`format_value`; a template without the
    placeholder gets the value appended; no template falls back to the feature name.
    """
    text = format_value(feature, value)
    if math.isnan(value):
        return f"{feature}: not observed"
    if not template:
        return f"{feature} = {text}"
    if "{value}" in template:
        return template.replace("{value}", text)
    return f"{template}: {text}"


def explain_arrays(
    contrib: np.ndarray,
    values: np.ndarray,
    features: list[str],
    templates: Mapping[str, str],
    *,
    top: int = 3,
    min_contribution: float = 0.05,
    row_texts: Mapping[str, np.ndarray] | None = None,
    _masked: bool = False,
    _against: bool = False,
) -> tuple[list[str], list[str]]:
    """Reasons (text) and ``reasons_json`` (JSON text) for every row.

    Only evidence toward suspicion is a reason (see :func:`evidence_mask`).

    Parameters
    ----------
    contrib
        Per-feature logit contributions, ``(n, p)``.
    values
        The feature values, ``(n, p)``.
    features
        Feature names (``p``).
    templates
        Feature -> phrase template.
    top
        Reasons per origin at most.
    min_contribution
        Only contributions above this (logit units) count as reasons.
    row_texts
        Feature -> per-row sentence (``""``: use the template), for reasons that read
        better with the origin's descriptive columns (see :func:`detail_texts`).

    Returns
    -------
    tuple of lists
        ``"; "``-joined sentences, and JSON lists of
        ``{feature, value, contribution, text}`` (most important first).
    """
    n, p = contrib.shape
    k = max(0, min(top, p))
    if n == 0 or k == 0:
        return [""] * n, ["[]"] * n
    if not _masked:
        contrib = np.where(evidence_mask(values, features, toward=True), contrib, -np.inf)
    order = _top_k(contrib, k)
    sel = np.take_along_axis(contrib, order, axis=1)
    ok = sel > min_contribution
    texts = np.full((n, k), "", dtype=object)
    items = np.full((n, k), "", dtype=object)
    for j in np.unique(order[ok]):
        mask = ok & (order == j)
        rows = np.nonzero(mask)[0]
        vals = values[rows, j]
        t, it = _render_feature(
            features[j], templates.get(features[j]), vals, sel[mask], against=_against
        )
        alt = (row_texts or {}).get(features[j])
        if alt is not None:
            _apply_row_texts(t, it, alt[rows])
        texts[mask] = t
        items[mask] = it
    counts = ok.sum(axis=1)
    reasons = ["; ".join(r[:c]) for r, c in zip(texts.tolist(), counts.tolist(), strict=True)]
    rjson = [
        "[" + ", ".join(r[:c]) + "]" for r, c in zip(items.tolist(), counts.tolist(), strict=True)
    ]
    return reasons, rjson


def evidence_mask(values: np.ndarray, features: list[str], *, toward: bool) -> np.ndarray:
    """Which (origin, feature) values can be shown as evidence.

    A zero or unknown value is an absence ("0% of failures were ...") and never shown, except
    for features whose low values are the evidence (:data:`LOW_IS_EVIDENCE`). Toward
    suspicion, :data:`NOT_REASONS` features are never shown.

    Parameters
    ----------
    values
        Feature values ``(n, p)``.
    features
        Feature names (``p``).
    toward
        True for reasons (toward suspicion), False for counter-evidence.

    Returns
    -------
    numpy.ndarray
        Boolean ``(n, p)``.
    """
    present = np.isfinite(values) & (values != 0)
    low = np.asarray([f in LOW_IS_EVIDENCE for f in features], dtype=bool)
    ok = present | (low[None, :] & np.isfinite(values))
    if toward:
        allowed = np.asarray([f not in NOT_REASONS for f in features], dtype=bool)
        ok &= allowed[None, :]
        j = features.index("n_accounts") if "n_accounts" in features else -1
        if j >= 0:  # one account is no breadth
            ok[:, j] &= values[:, j] >= 2
    return ok


def counter_arrays(
    contrib: np.ndarray,
    values: np.ndarray,
    features: list[str],
    templates: Mapping[str, str],
    *,
    top: int = 3,
    min_contribution: float = 0.05,
) -> tuple[list[str], list[str]]:
    """Counter-evidence: the features that *lowered* each origin's score most.

    Same shapes as :func:`explain_arrays`; contributions in the JSON items are negative and
    every item carries ``"direction": "against"``.
    """
    neg = np.where(evidence_mask(values, features, toward=False), -contrib, -np.inf)
    return explain_arrays(
        neg, values, features, templates, top=top, min_contribution=min_contribution,
        _masked=True, _against=True,
    )  # fmt: skip


def _top_k(contrib: np.ndarray, k: int) -> np.ndarray:
    """Column indices of the ``k`` largest contributions per row, largest first.

    Equal contributions go to the earlier feature (a tiny index-proportional tilt), so the
    choice is deterministic.
    """
    p = contrib.shape[1]
    key = -contrib + np.arange(p) * 1e-12
    part = (
        np.argpartition(key, k - 1, axis=1)[:, :k]
        if k < p
        else np.tile(np.arange(p), (len(key), 1))
    )
    sub = np.take_along_axis(key, part, axis=1)
    return np.take_along_axis(part, np.argsort(sub, axis=1, kind="stable"), axis=1)


def _display(feature: str, vals: np.ndarray) -> np.ndarray:
    """Display strings for many values of one feature (formatted once per distinct value)."""
    r = vals.astype(np.float64, copy=True)
    finite = np.isfinite(r)
    if not (feature.startswith(_FLAG_PREFIXES) or feature in _FLAGS):
        is_share = (feature.endswith("_share") or feature in _SHARES) and bool(
            np.all((r[finite] >= 0) & (r[finite] <= 1))
        )
        if is_share:
            r[finite] = np.rint(r[finite] * 100) / 100
        else:
            a = np.abs(r[finite])
            mag = np.floor(np.log10(np.where(a > 0, a, 1.0)))
            dec = np.where(a >= 100, 0, np.where(a >= 10, 1, 1 - mag))
            scale = 10.0**dec
            r[finite] = np.rint(r[finite] * scale) / scale
    uniq, inv = np.unique(r, return_inverse=True)
    shown = np.asarray([format_value(feature, float(u)) for u in uniq], dtype=object)
    return np.asarray(shown[inv.ravel()], dtype=object)


_OS_NAMES = {"linux": "Linux", "windows": "Windows", "macos": "macOS", "ios": "iOS",
             "android": "Android", "linux_embedded": "embedded Linux"}  # fmt: skip


def detail_texts(frame: Any) -> dict[str, np.ndarray]:
    """Per-row sentences built from descriptive columns, keyed by feature.

    ``os_mismatch``: "TCP stack looks like Linux; User-Agent claims Windows" from ``tcp_os``
    and ``ua_os`` where both are known and differ.

    Parameters
    ----------
    frame
        The origins table being explained.

    Returns
    -------
    dict
        Feature -> object array of sentences (``""`` where none).
    """
    out: dict[str, np.ndarray] = {}
    if {"tcp_os", "ua_os"} <= set(frame.columns):
        tcp = frame["tcp_os"].astype("string").fillna("").to_numpy(dtype=object)
        ua = frame["ua_os"].astype("string").fillna("").to_numpy(dtype=object)
        out["os_mismatch"] = np.asarray(
            [
                f"TCP stack looks like {_OS_NAMES.get(a, a)}; "
                f"User-Agent claims {_OS_NAMES.get(b, b)}"
                if a and b and a != b else ""
                for a, b in zip(tcp.tolist(), ua.tolist(), strict=True)
            ],
            dtype=object,
        )  # fmt: skip
    return out


def _apply_row_texts(texts: list[str], items: list[str], alt: np.ndarray) -> None:
    """Replace template sentences by per-row ones (in place, text and JSON item)."""
    for i, a in enumerate(alt.tolist()):
        if a:
            item = json.loads(items[i])
            item["text"] = a
            texts[i] = a
            items[i] = json.dumps(item, sort_keys=True)


def _render_feature(
    name: str, template: str | None, vals: np.ndarray, cons: np.ndarray, *, against: bool = False
) -> tuple[list[str], list[str]]:
    """Sentences and JSON items for the selected values of one feature."""
    disp = _display(name, vals)
    udisp, inv = np.unique(disp.astype(str), return_inverse=True)
    nan_text = render(template, name, float("nan"))
    utext = [
        nan_text if d == "unknown" else (
            template.replace("{value}", d) if template and "{value}" in template
            else (f"{template}: {d}" if template else f"{name} = {d}")
        )
        for d in udisp
    ]  # fmt: skip
    ujson = [json.dumps(t) for t in utext]
    inv = inv.ravel()
    texts = [utext[i] for i in inv]
    fj = json.dumps(name)
    sign, extra = (-1.0, '"direction": "against", ') if against else (1.0, "")
    items = [
        f'{{"contribution": {sign * c:.4f}, {extra}"feature": {fj}, "text": {ujson[i]}, '
        f'"value": {"null" if v != v else repr(v)}}}'
        for c, i, v in zip(cons.tolist(), inv.tolist(), vals.tolist(), strict=True)
    ]
    return texts, items
