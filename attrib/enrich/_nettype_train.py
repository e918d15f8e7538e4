"""Training the network-type model on weak labels from the redistributable sources.

Labels (noisy, and never the hand-checked evaluation table):

* ``hosting`` — a *source* says so: the X4BNet datacenter ASN list, the X4BNet VPN ASN list,
  brianhama/bad-asn-list, or >= 50 % of the ASN's IPv4 space inside published cloud ranges
  (lord-alfred/ipranges) or X4BNet datacenter ranges;
* ``cdn`` networks (:data:`attrib.enrich.nettype.CDN_ASNS`) are trained as ``hosting`` (too
  few for a class of their own; the shipped answer names them ``cdn``);
* ``residential`` also — the shape of a national access network (:func:`broadband_shape`:
  >= 2^20 addresses in >= 100 cities of one country, little space abroad), when no seed or
  source says otherwise;
* the other classes — a narrow *seed* term in the organisation name (:data:`SEEDS`), only when
  exactly one class's seed matches and no hosting source lists the ASN.

So that the model learns evidence that generalises rather than the sources themselves, every
labelled ASN is seen twice: as it is, and *blinded* — list memberships and range coverage hidden
and the seed terms cut out of its name. In the blinded copy only the remaining name tokens and
the shape of the address space can carry the class.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from threadpoolctl import threadpool_limits

from attrib.enrich._nettype_features import LISTS, broadband_shape, hosting_flag, with_siblings
from attrib.enrich._nettype_model import (
    NetTypeModel,
    evidence_matrix,
    fit_vocab,
    name_matrix,
    trees_from_sklearn,
)

__all__: list[str] = []  # private module

log = logging.getLogger(__name__)

#: Seed terms that label access and institutional classes (narrow on purpose).
SEEDS: dict[str, str] = {
    "education": r"universit\w*|univerzit\w*|uniwersytet\w*|yliopisto|egyetem|college"
    r"|academy|akademi\w*|\bschools?\b|polytechn\w*|hochschule|h[oö]gskola\w*|\beducation"
    r"|research (?:and|&) education|research network|academic|\bensino\b|\bnren\b"
    r"|forschungsnetz|tieteen|kunnskap",
    "government": r"ministry|ministerio|minist[eè]re|government|municipality|\bgov\b|\bcity of\b"
    r"|\bcounty of\b|\bstate of\b|\bkommune?\b|\bgemeente\b|\bprefeitura\b|\bgobierno\b"
    r"|\bsenate\b|\bparliament\b|\bfederal (?:agency|office|ministry)|\bmagistrat\b"
    r"|\bfederal reserve\b|\bstadt\b|\bayuntamiento\b|\bmairie\b|\bcomune di\b",
    "mobile": r"mobile|mobilfunk|mobiln\w*|mobitel|cellular|celular|selul[ae]r|\bgsm\b|\blte\b"
    r"|\b[345]g\b|m[oó]vil(?:es)?\b|m[oó]vel\b|\bwireless telecom",
    "residential": r"broadband|bredband\w*|bredb[aå]nd|\bcable\b|\bkabel\w*|\bdsl\b"
    r"|\bfib(?:er|re|ra)\b|glasfaser|glasvezel|valokuitu|kuitu|stadsn[aä]\w*|ftth|telecom\w*|telekom\w*"
    r"|\binternet service provider",
    "business": r"\bbank\b|\bbanco\b|\bbanque\b|insurance|versicherung|assurance|airlines?\b"
    r"|airways|pharma\w*|automotive|\bmotors?\b|petroleum|chemicals?\b|chemie|manufactur\w*"
    r"|\bstores\b|\bretail|\boil\b|aerospace|semiconductor|logistics|\bfoods?\b"
    r"|beverages?|tobacco|\bsteel\b|\bmining\b",
}
_SEED_RE = re.compile("|".join(f"(?:{v})" for v in SEEDS.values()), re.IGNORECASE)

#: Hosting sources: name -> (evidence columns it feeds, how it labels).
SOURCES: dict[str, tuple[str, ...]] = {
    "X4BNet datacenter ASN list": ("in_datacenter_list",),
    "X4BNet VPN ASN list": ("in_vpn_list",),
    "bad-asn-list": ("in_bad_asn_list",),
    "published cloud ranges": ("frac_cloud",),
    "X4BNet datacenter ranges": ("frac_dcrange",),
}
_BLIND = ("in_datacenter_list", "in_vpn_list", "in_bad_asn_list", "frac_cloud", "frac_dcrange",
          "frac_vpnrange", "sib_host")  # fmt: skip


def source_members(ev: pd.DataFrame, source: str) -> np.ndarray:
    """Boolean mask of the ASNs a hosting source labels."""
    return hosting_flag(ev, SOURCES[source])


def weak_labels(
    ev: pd.DataFrame, cdn_asns: frozenset[int], *, skip_sources: tuple[str, ...] = ()
) -> pd.Series:
    """Weak label per ASN (``<NA>`` where no source or seed says anything)."""
    org = ev["org"].astype("string").fillna("")
    hits = pd.DataFrame(
        {k: org.str.contains(re.compile(v, re.IGNORECASE), regex=True) for k, v in SEEDS.items()}
    )
    lab = pd.Series(pd.NA, index=ev.index, dtype="object")
    # a carrier named both ways ("... Telecom Mobile") is a mobile carrier
    hits.loc[hits["mobile"], "residential"] = False
    one = hits.sum(axis=1) == 1
    lab[one] = hits[one].idxmax(axis=1)
    lab[broadband_shape(ev) & lab.isna()] = "residential"
    host = np.zeros(len(ev), dtype=bool)
    for s in SOURCES:
        if s not in skip_sources:
            host |= source_members(ev, s)
    lab[host] = "hosting"
    lab[ev["asn"].isin(cdn_asns).to_numpy()] = "hosting"
    return lab


def blind(
    ev: pd.DataFrame, hide: tuple[str, ...] = _BLIND, *, cut_seeds: bool = True
) -> pd.DataFrame:
    """Copy of ``ev`` with list/range evidence hidden and (optionally) seed terms cut from names."""
    out = ev.copy()
    for c in hide:
        out[c] = False if c in LISTS else 0.0
    if cut_seeds:
        out["org"] = out["org"].astype("string").fillna("").map(lambda s: _SEED_RE.sub(" ", s))
    return out


def _weights(y: np.ndarray, power: float = 0.5) -> np.ndarray:
    # square-root class balance: small classes count more without flooding the unlabelled
    # majority with the rarest class
    freq = pd.Series(y).value_counts()
    return pd.Series(y).map((freq.max() / freq) ** power).to_numpy(dtype=np.float64)


def _name_lr(c: float, seed: int) -> LogisticRegression:
    return LogisticRegression(C=c, max_iter=200, tol=1e-3, random_state=seed)


def fit_model(
    ev: pd.DataFrame,
    labels: pd.Series,
    *,
    hide_always: tuple[str, ...] = (),
    c: float = 0.5,
    min_df: int = 8,
    n_folds: int = 4,
    max_iter: int = 100,
    weight_power: float = 0.75,
    oof_repeats: int = 1,
    seed: int = 0,
) -> NetTypeModel:
    """Fit both stages on the labelled rows of ``ev`` (original + blinded copies).

    Parameters
    ----------
    ev
        Evidence table (all ASNs; the name vocabulary is learned on all names, no label used).
    labels
        Weak labels aligned to ``ev`` (``<NA>`` rows are not trained on).
    hide_always
        Evidence columns hidden in every copy (leave-one-source-out).
    c
        Inverse L2 strength of the name stage.
    n_folds
        Folds for the out-of-fold name probabilities the evidence stage learns from (both
        copies of an ASN fall in the same fold).
    max_iter
        Boosting iterations of the evidence stage.
    weight_power
        Class weights are ``(largest class / class size) ** weight_power``.
    oof_repeats
        Fold draws the out-of-fold name probabilities are averaged over.
    """
    # a hidden source must not speak through the siblings' evidence either
    base = with_siblings(blind(ev, hide_always, cut_seeds=False)) if hide_always else ev
    vocab, countries = fit_vocab(base, min_df=min_df)
    has = labels.notna().to_numpy()
    lab = base[has].reset_index(drop=True)
    y = labels[has].astype(str).to_numpy()
    both = pd.concat([lab, blind(lab)], ignore_index=True)
    yy = np.concatenate([y, y])
    w = _weights(yy, weight_power)
    Xn = name_matrix(both, vocab, countries)
    rng = np.random.default_rng(seed)
    classes = sorted(set(yy))
    oof = np.zeros((len(both), len(classes)))
    for _ in range(oof_repeats):  # averaged over fold draws: one draw moves answers by chance
        fold = np.tile(rng.integers(0, n_folds, len(lab)), 2)
        for f in range(n_folds):
            tr, te = fold != f, fold == f
            m = _name_lr(c, seed).fit(Xn[tr], yy[tr], sample_weight=w[tr])
            p = m.predict_proba(Xn[te]) / oof_repeats
            oof[np.ix_(te, np.searchsorted(classes, m.classes_))] += p
    name = _name_lr(c, seed).fit(Xn, yy, sample_weight=w)
    hgb = HistGradientBoostingClassifier(
        max_iter=max_iter, learning_rate=0.15, max_leaf_nodes=15, max_bins=128,
        l2_regularization=1.0, early_stopping=False, random_state=seed,
    )  # fmt: skip
    with threadpool_limits(1):  # OpenMP threads thrash on a shared machine; one is faster
        hgb.fit(evidence_matrix(both, oof), yy, sample_weight=w)
    if list(hgb.classes_) != classes or list(name.classes_) != classes:
        raise RuntimeError("class order differs between the stages")
    baseline, trees = trees_from_sklearn(hgb)
    coef, icpt = name.coef_.astype(np.float64), name.intercept_.astype(np.float64)
    if len(classes) == 2:  # binary: one logit row -> softmax over [0, logit]
        coef, icpt = np.vstack([np.zeros_like(coef), coef]), np.array([0.0, icpt[0]])
    counts = pd.Series(y).value_counts().to_dict()
    log.info("net-type model: %d labelled ASNs %s, %d name columns", len(y), counts, Xn.shape[1])
    return NetTypeModel(
        classes=classes,
        vocab=vocab,
        countries=countries,
        name_coef=coef,
        name_intercept=icpt,
        baseline=baseline,
        trees=trees,
        meta={
            "labelled": {str(k): int(v) for k, v in sorted(counts.items())},
            "C": c, "min_df": min_df, "n_folds": n_folds, "max_iter": max_iter, "seed": seed,
            "hidden": list(hide_always),
        },
    )  # fmt: skip
