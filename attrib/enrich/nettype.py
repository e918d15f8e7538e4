"""Network type of an autonomous system, with a confidence and the evidence behind it.

Built only from redistributable data: the bundled list snapshots (datacenter, VPN and bad-ASN
lists, published cloud ranges), AS organisation names, and the *shape* of a network's address
space in the geolocation data (how much space it announces, in how many distinct cities and
countries it geolocates). :func:`classify_asns` is run by ``scripts/build_data.py``; the result is
shipped in ``data/enrich/asn_info.parquet`` and looked up per address at enrichment time.

Classes: ``residential``, ``mobile``, ``hosting``, ``cdn``, ``business``, ``education``,
``government``, ``unknown`` (see :data:`attrib.schema.NET_TYPES`). The method and its held-out
evaluation are in ``docs/net_type_eval.md``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

import numpy as np
import pandas as pd

__all__ = ["CDN_ASNS", "NAME_PATTERNS", "classify_asns", "classify_one"]

#: Well-known CDN / anycast edge networks (public knowledge; the AS names say so).
CDN_ASNS: frozenset[int] = frozenset({
    13335, 209242, 20940, 16625, 16702, 21342, 21357, 21399, 32787, 35994, 33905, 12222,
    54113, 60068, 15133, 14153, 22822, 12989, 200325, 19551, 30148, 13414, 8068, 2635,
    10576, 209, 40934, 36183, 20446,
})  # fmt: skip

#: Ordered name patterns per class (case-insensitive regexes on the AS organisation name).
NAME_PATTERNS: dict[str, str] = {
    "cdn": r"\bcdn\b|content deliver|akamai|fastly|edgecast|edgio|limelight|cachefly|incapsula"
    r"|cloudflare|stackpath|bunny|cdnetworks|chinacache|medianova",
    "education": r"universit|\bcollege|\bschool|academ|\binstitut[eo]? (of|de|für|for) "
    r"|polytechn|hochschule|universidad|universidade|università|université|\bedu\b|education"
    r"|research and education|\bnren\b|\brenater\b|\bjanet\b|\bgeant\b|internet2|cernet"
    r"|rede nacional de ensino|science|wissenschaft|campus|forschung|research|\bschul"
    r"|educa[cç]",
    "government": r"government|\bministr|ministerio|ministère|\bgov\b|federal|bundes"
    r"|department of|departamento|\bstate of\b|city of|county of|municipal|prefecture"
    r"|\bcouncil\b|parliament|army|navy|air force|\bdefen[cs]e|police|agency|administration"
    r"|national (center|centre|institute) for|treasury|court|public service|\bdod\b"
    r"|united nations|municipi|gemeente|kommune|stadt |ayuntamiento|prefeitura|regione\b",
    "mobile": r"mobile|wireless|cellular|\bmobil\b|mobilink|\bgsm\b|\blte\b|\b[345]g\b"
    r"|telcel|movil|móvil|celular|mobitel|\bcell\b|airtel|jio|vodafone|t-mobile|tmobile"
    r"|\bmts\b|megafon|beeline|vimpelcom|tele2|digicel|\bmtn\b|safaricom|globe telecom"
    r"|smart communications|telkomsel|indosat|\bxl axiata|viettel|ooredoo|zain|etisalat"
    r"|turkcell|\bntt docomo|softbank mobile|kddi",
    "hosting": r"hosting|\bhost|server|data ?cent(er|re)|datacenter|\bcloud|\bvps\b|\bcolo"
    r"|colocation|dedicated|\bdc\b|\bidc\b|compute|\bvirtual|ovh|hetzner|linode|digitalocean"
    r"|vultr|choopa|leaseweb|contabo|scaleway|online s\.a\.s|m247|datacamp|hostinger"
    r"|amazon|\baws\b|google|microsoft|azure|oracle|alibaba|tencent|huawei cloud|ionos"
    r"|godaddy|rackspace|softlayer|internap|equinix|cogent|zenlayer|psychz|quadranet"
    r"|frantech|buyvm|servers|\bnet(work)? solutions|web ?services|\bweb\b"
    r"|managed services|informati[ck]|backbone|bytes\b|\bit[- ]solutions|\bit[- ]services"
    r"|\bdata\b|\bhost\w*|\bnode\b|\bcompute|\bgpu\b|\bsaas\b|\bcdn\b",
    "residential": r"broadband|\bcable|cablevision|\bdsl\b|adsl|fib(er|re)|\bftth\b|\bisp\b"
    r"|internet service|telecom|telekom|telecommunica|telefonica|telefônica|telmex|\btelco"
    r"|comunicac|communications|comcast|charter|spectrum|\bcox\b|verizon|at&t|centurylink"
    r"|frontier|windstream|rogers|shaw|bell canada|videotron|orange|\bfree sas|\bsfr\b"
    r"|bouygues|deutsche telekom|vodafone|telia|telenor|swisscom|kpn|ziggo|virgin media"
    r"|\bsky\b|\bbt\b|british telecom|chunghwa|hinet|korea telecom|\bkt\b|sk broadband"
    r"|lg (dacom|uplus)|china telecom|china unicom|chinanet|rostelecom|ttnet|turk telekom"
    r"|telstra|optus|spark|\bnbn\b|claro|\boi\b|vivo|net servicos|totalplay|izzi|megacable"
    r"|\bttk\b|ertelecom|er-telecom|\bufanet|\bdom\.ru|bsnl|\bptcl\b|\bpldt\b|converge"
    r"|\bdigi\b|\brcs\b|\bupc\b|\bliberty global|\bunitymedia|netcologne|m-net|\bwind\b"
    r"|iliad|fastweb|tiscali|kabel|\bnet ?com|\bonline\b|\binternet\b|speed|\bwifi\b"
    r"|\bwisp\b|fibra|telecomunica|telekomunika|provedor|\bnet\b|\.net\b|\bwimax\b",
    "business": r"\bbank\b|banco|\bbanque|insurance|versicherung|\bcorp(oration)?\b|\binc\b"
    r"|\bllc\b|\bgmbh\b|\bag\b|\bs\.?a\.?\b|\bltd\b|limited|holding|group|industries"
    r"|manufactur|pharma|energy|airlines|airways|logistics|retail|automotive|motors"
    r"|hospital|health|clinic|\bmedical",
}

_COMPILED = {k: re.compile(v, re.IGNORECASE) for k, v in NAME_PATTERNS.items()}
_STR = "string[pyarrow]"


def _match(cls: str, org: str) -> str | None:
    m = _COMPILED[cls].search(org)
    return m.group(0) if m else None


def classify_one(
    asn: int,
    org: str | None,
    *,
    n_addr: float = 0.0,
    n_cities: int = 0,
    n_countries: int = 0,
    in_datacenter_list: bool = False,
    in_vpn_list: bool = False,
    in_bad_asn_list: bool = False,
    dc_range_frac: float = 0.0,
) -> tuple[str, float, str]:
    """Classify one autonomous system.

    Parameters
    ----------
    asn
        AS number.
    org
        AS organisation name (may be ``None``).
    n_addr
        IPv4 addresses the AS announces (in the bundled ASN table).
    n_cities, n_countries
        Distinct cities / countries its IPv4 ranges geolocate to.
    in_datacenter_list, in_vpn_list, in_bad_asn_list
        Membership in the bundled datacenter, VPN and bad-ASN lists.
    dc_range_frac
        Fraction of its IPv4 space inside published cloud or datacenter ranges.

    Returns
    -------
    tuple
        ``(net_type, confidence, evidence)``.
    """
    name = org or ""
    ev: list[str] = []
    if asn in CDN_ASNS:
        return "cdn", 0.95, f"ASN {asn} is a known CDN/anycast edge network"
    lists = []
    if in_datacenter_list:
        lists.append("datacenter ASN list")
    if in_bad_asn_list:
        lists.append("bad-asn (hosting) list")
    if in_vpn_list:
        lists.append("VPN ASN list")
    cdn = _match("cdn", name)
    if cdn and not lists:
        return "cdn", 0.8, f"org name matches CDN term {cdn!r}"
    shape = (
        f"{n_cities} distinct cities in {n_countries} countries over {int(n_addr):,} IPv4 addresses"
    )
    edu = _match("education", name)
    gov = _match("government", name)
    mob = _match("mobile", name)
    host = _match("hosting", name)
    res = _match("residential", name)
    if lists:
        conf = 0.9 if (in_datacenter_list and in_bad_asn_list) else 0.8
        ev.append(f"ASN {asn} in " + " and ".join(lists))
        if host:
            conf = min(0.97, conf + 0.07)
            ev.append(f"org name matches hosting term {host!r}")
        if res and not host and n_cities >= 50:
            # big ISPs sometimes appear on hosting lists; keep hosting but lower confidence
            conf -= 0.2
            ev.append(f"but org name matches ISP term {res!r} and {shape}")
        return "hosting", round(conf, 2), "; ".join(ev)
    if dc_range_frac >= 0.5:
        return (
            "hosting",
            0.75,
            f"{dc_range_frac:.0%} of its IPv4 space is in published cloud/datacenter ranges",
        )
    if edu:
        return "education", 0.85, f"org name matches education term {edu!r}"
    if gov and not res and not host:
        return "government", 0.75, f"org name matches government term {gov!r}"
    if mob:
        return "mobile", 0.75 if not res else 0.6, f"org name matches mobile-carrier term {mob!r}"
    if host and not res:
        conf = 0.7 if n_cities <= 20 else 0.55
        return "hosting", conf, f"org name matches hosting term {host!r}; {shape}"
    if res:
        if n_cities >= 20:
            return (
                "residential",
                0.8,
                f"org name matches ISP term {res!r}; ranges geolocate to {shape} (broadband-like)",
            )
        return "residential", 0.6, f"org name matches ISP term {res!r}; {shape}"
    if host:
        return "hosting", 0.5, f"org name matches hosting term {host!r}; {shape}"
    if n_cities >= 40 and n_addr >= 65536:
        return "residential", 0.5, f"ranges geolocate to {shape} (broadband-like shape)"
    biz = _match("business", name)
    if biz and n_cities <= 5 and n_addr <= 65536:
        return "business", 0.55, f"org name matches enterprise term {biz!r}; {shape}"
    if n_addr and n_addr <= 4096 and n_cities <= 2:
        return "business", 0.4, f"small single-site network: {shape}"
    return (
        "unknown",
        0.0,
        f"no list membership or decisive name; {shape}" if n_addr else "no evidence",
    )


def classify_asns(features: pd.DataFrame, *, exclude_lists_for: Iterable[int] = ()) -> pd.DataFrame:
    """Classify many ASNs.

    Parameters
    ----------
    features
        One row per ASN with ``asn``, ``org``, ``n_addr``, ``n_cities``, ``n_countries``,
        ``in_datacenter_list``, ``in_vpn_list``, ``in_bad_asn_list``, ``dc_range_frac``.
    exclude_lists_for
        ASNs whose list membership is hidden from the classifier (held-out evaluation).

    Returns
    -------
    pandas.DataFrame
        ``asn``, ``net_type``, ``net_type_confidence``, ``net_type_evidence``.
    """
    hidden = set(int(a) for a in exclude_lists_for)
    rows = []
    r: Any
    for r in features.itertuples(index=False):
        a = int(r.asn)
        h = a in hidden
        rows.append(
            classify_one(
                a,
                None if pd.isna(r.org) else str(r.org),
                n_addr=float(r.n_addr),
                n_cities=int(r.n_cities),
                n_countries=int(r.n_countries),
                in_datacenter_list=bool(r.in_datacenter_list) and not h,
                in_vpn_list=bool(r.in_vpn_list) and not h,
                in_bad_asn_list=bool(r.in_bad_asn_list) and not h,
                dc_range_frac=0.0 if h else float(r.dc_range_frac),
            )
        )
    out = pd.DataFrame(rows, columns=["net_type", "net_type_confidence", "net_type_evidence"])
    out.insert(0, "asn", features["asn"].to_numpy(dtype=np.int64))
    return out
