"""Network type of an autonomous system, with a confidence and the evidence behind it.

Built only from redistributable data: the bundled list snapshots (datacenter, VPN and bad-ASN
lists, published cloud ranges), AS organisation names, and the *shape* of a network's address
space in the bundled geolocation and registration data (see
:mod:`attrib.enrich._nettype_features`). A learned model (``models/attrib-nettype-<version>.json``,
checksummed, see :mod:`attrib.enrich._nettype_model`) turns that evidence into a type; it is
applied when the bundle is built (``scripts/build_data.py``), and the per-ASN answer is shipped
in ``data/enrich/asn_info.parquet`` and looked up per address at enrichment time.

Classes: ``residential``, ``mobile``, ``hosting``, ``cdn``, ``business``, ``education``,
``government``, ``unknown`` (see :data:`attrib.schema.NET_TYPES`). When fixed and mobile access
are both likely in one ASN, the answer keeps the likelier one and names the other in
``net_type_alt`` and in the evidence (``residential|mobile``): per-address behaviour (shared NAT)
must decide. The method and its evaluation are in ``docs/net_type_eval.md``.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from attrib._paths import default_models_dir
from attrib.enrich._nettype_features import broadband_shape
from attrib.enrich._nettype_model import NetTypeModel, load_model, name_tokens

__all__ = [
    "AMBIGUOUS_SHARE",
    "CDN_ASNS",
    "MODEL_NAME",
    "MODEL_VERSION",
    "classify_asns",
    "load_net_type_model",
    "model_path",
]

#: Well-known CDN / anycast edge networks (public knowledge; the AS names say so).
CDN_ASNS: frozenset[int] = frozenset({
    13335, 209242, 20940, 16625, 16702, 21342, 21357, 21399, 32787, 35994, 33905, 12222,
    54113, 60068, 15133, 14153, 22822, 12989, 200325, 19551, 30148, 13414, 8068, 2635,
    10576, 209, 40934, 36183, 20446,
})  # fmt: skip

MODEL_VERSION = "1.2.0"
MODEL_NAME = f"attrib-nettype-{MODEL_VERSION}.json"

#: Second access class kept as ``net_type_alt`` when its probability is at least this share of
#: the first's (fixed and mobile access in one ASN).
AMBIGUOUS_SHARE = 0.25
_ACCESS_PAIR = frozenset({"residential", "mobile"})


def model_path(models_dir: str | Path | None = None) -> Path:
    """Path of the shipped network-type model."""
    return Path(models_dir or default_models_dir()) / MODEL_NAME


def load_net_type_model(path: str | Path | None = None) -> NetTypeModel:
    """Load (and checksum-verify) the network-type model; default: the shipped one."""
    return load_model(path or model_path())


def _num(v: float) -> str:
    return f"{int(v):,}"


def _shape(r: Any) -> str:
    """The address-space evidence of one ASN in words."""
    if not r.n_addr:
        return "no announced IPv4 space"
    parts = [
        f"{_num(r.n_addr)} IPv4 addresses in {_num(2**r.log2_blocks)} blocks",
        f"{int(r.n_cities)} cities in {int(r.n_countries)} countries "
        f"({r.cities_per_24:.2f} cities per /24)",
    ]
    if r.geo_outside_whois == r.geo_outside_whois and r.geo_outside_whois >= 0.05:
        parts.append(f"{r.geo_outside_whois:.0%} geolocated outside its registration country")
    for col, words in (("frac_cloud", "published cloud ranges"),
                       ("frac_dcrange", "published datacenter ranges"),
                       ("frac_vpnrange", "published VPN server ranges")):  # fmt: skip
        if getattr(r, col) >= 0.01:
            parts.append(f"{getattr(r, col):.0%} in {words}")
    lists = [
        n
        for n, col in (
            ("X4BNet datacenter ASN list", "in_datacenter_list"),
            ("X4BNet VPN ASN list", "in_vpn_list"),
            ("bad-asn (hosting) list", "in_bad_asn_list"),
        )
        if getattr(r, col)
    ]
    if lists:
        parts.append("in " + " and ".join(lists))
    others = round(2 ** getattr(r, "sib_n", 0.0)) - 1
    if others >= 1:
        share = getattr(r, "sib_host", 0.0)
        parts.append(f"{others} other ASNs of the same name, {share:.0%} named by a hosting source")
    return "; ".join(parts)


def _name_reasons(m: NetTypeModel, ev: pd.DataFrame, pred: np.ndarray, k: int = 2) -> list[str]:
    """Per row, the learned name words that push the predicted class up most."""
    vmap = {t: i for i, t in enumerate(m.vocab)}
    centred = m.name_coef - m.name_coef.mean(axis=0, keepdims=True)
    out = []
    orgs = ev["org"].astype("string").fillna("").to_numpy(dtype=object)
    for org, c in zip(orgs, pred, strict=True):
        toks = [(t, centred[c, vmap[t]]) for t in name_tokens(org) if t in vmap]
        words = [(t[2:], v) for t, v in toks if t.startswith("w:") and v > 0.3]
        words.sort(key=lambda x: -x[1])
        out.append(", ".join(repr(w) for w, _ in words[:k]))
    return out


def classify_asns(evidence: pd.DataFrame, model: NetTypeModel | None = None) -> pd.DataFrame:
    """Type every ASN of an evidence table.

    Parameters
    ----------
    evidence
        One row per ASN, as made by :mod:`attrib.enrich._nettype_features`.
    model
        The network-type model (default: the shipped one, checksum verified).

    Returns
    -------
    pandas.DataFrame
        ``asn``, ``net_type``, ``net_type_confidence``, ``net_type_evidence``,
        ``net_type_alt`` (second access class for mixed fixed/mobile ASNs, else ``<NA>``).
    """
    m = model or load_net_type_model()
    ev = evidence.reset_index(drop=True)
    P = m.predict_proba(ev)
    order = np.argsort(-P, axis=1)
    rows = np.arange(len(ev))
    best, second = order[:, 0], order[:, 1]
    cls = np.asarray(m.classes, dtype=object)
    pred = cls[best]
    conf, conf2 = P[rows, best], P[rows, second]
    access = np.isin(pred, list(_ACCESS_PAIR))
    close = access & np.isin(cls[second], list(_ACCESS_PAIR)) & (conf2 >= AMBIGUOUS_SHARE * conf)
    # a national access network: fixed and mobile egress often share the ASN, and the bundled
    # data has no prefix-level connection type to tell them apart
    national = access & broadband_shape(ev) & ~close
    alt_ok = close | national
    alt = np.where(close, cls[second], np.where(pred == "mobile", "residential", "mobile"))
    names = _name_reasons(m, ev, best)
    texts: list[str] = []
    for i, r in enumerate(ev.itertuples(index=False)):
        head = f"{pred[i]} {conf[i]:.2f}, {cls[second[i]]} {conf2[i]:.2f}"
        if close[i]:
            head = (f"residential|mobile: fixed and mobile access in one network ({head}); "
                    "per-address behaviour such as shared NAT decides")  # fmt: skip
        elif national[i]:
            head = (f"residential|mobile: a national access network ({head}); fixed and mobile "
                    "egress often share such an ASN and the data has no per-prefix connection "
                    "type; per-address behaviour such as shared NAT decides")  # fmt: skip
        word = f"; name {names[i]}" if names[i] else ""
        texts.append(f"{head}{word}; {_shape(r)}")
    out = pd.DataFrame({
        "asn": ev["asn"].to_numpy(dtype=np.int64),
        "net_type": pred,
        "net_type_confidence": np.round(conf, 2),
        "net_type_evidence": texts,
        "net_type_alt": [a if ok else None for a, ok in zip(alt, alt_ok, strict=True)],
    })  # fmt: skip
    cdn = ev["asn"].isin(CDN_ASNS).to_numpy()
    out.loc[cdn, "net_type"] = "cdn"
    out.loc[cdn, "net_type_confidence"] = 0.95
    out.loc[cdn, "net_type_evidence"] = [
        f"AS{a} is a known CDN/anycast edge network; {t}"
        for a, t in zip(out.loc[cdn, "asn"], out.loc[cdn, "net_type_evidence"], strict=True)
    ]
    has_name = ev["org"].astype("string").fillna("").str.strip().str.len().to_numpy() > 0
    none = (ev["n_addr"].to_numpy() == 0) & ~has_name & ~cdn
    out.loc[none, "net_type"] = "unknown"
    out.loc[none, "net_type_confidence"] = 0.0
    out.loc[none, "net_type_evidence"] = (
        "no evidence (no announced IPv4 space, no organisation name)"
    )
    out["net_type_alt"] = out["net_type_alt"].astype("string")
    return out
