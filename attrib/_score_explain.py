"""Per-origin explanations: the features that raised an origin's score, in words and as data.

Contributions come from the additive model (exact: base logit + contributions = logit).
Rendering is vectorised per feature (one template, many values), so explaining a million
origins costs one pass over the selected (origin, feature) pairs.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping

import numpy as np

__all__: list[str] = []  # private module


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
) -> tuple[list[str], list[str]]:
    """Reasons (text) and ``reasons_json`` (JSON text) for every row.

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
    # stable sort on -contribution: equal contributions keep feature order (deterministic)
    order = np.argsort(-contrib, axis=1, kind="stable")[:, :k]
    sel = np.take_along_axis(contrib, order, axis=1)
    ok = sel > min_contribution
    texts = np.full((n, k), "", dtype=object)
    items = np.full((n, k), "", dtype=object)
    for j in np.unique(order[ok]):
        mask = ok & (order == j)
        rows = np.nonzero(mask)[0]
        vals = values[rows, j]
        cons = sel[mask]
        name = features[j]
        tmpl = templates.get(name)
        t = [render(tmpl, name, float(v)) for v in vals]
        texts[mask] = t
        items[mask] = [
            json.dumps(
                {
                    "feature": name,
                    "value": None if math.isnan(v) else float(v),
                    "contribution": round(float(c), 4),
                    "text": s,
                },
                sort_keys=True,
            )
            for v, c, s in zip(vals, cons, t, strict=True)
        ]
    counts = ok.sum(axis=1)
    reasons = ["; ".join(r[:c]) for r, c in zip(texts.tolist(), counts.tolist(), strict=True)]
    rjson = [
        "[" + ", ".join(r[:c]) + "]" for r, c in zip(items.tolist(), counts.tolist(), strict=True)
    ]
    return reasons, rjson
