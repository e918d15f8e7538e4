"""The HTTP service, exercised through a real server process on loopback."""

from __future__ import annotations

import concurrent.futures as cf
import json
import subprocess
import sys

import httpx
import pytest

from attrib.api.state import nest_ecs

from .conftest import Server, create_key, start_server, stop

PUBLIC = ["8.8.8.8", "1.1.1.1", "2001:4860:4860::8888", "81.2.69.160", "9.9.9.9"]


def test_health_endpoints_are_open(server: Server) -> None:
    assert httpx.get(f"{server.url}/healthz").json()["status"] == "ok"
    r = httpx.get(f"{server.url}/readyz")
    assert r.status_code == 200 and r.json()["ready"] is True
    spec = httpx.get(f"{server.url}/openapi.json").json()
    assert {"/v1/ip/{ip}", "/v1/enrich", "/v1/score"} <= set(spec["paths"])


def test_auth_required_and_key_forms(server: Server) -> None:
    r = httpx.get(f"{server.url}/v1/ip/8.8.8.8")
    assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
    r = httpx.get(
        f"{server.url}/v1/ip/8.8.8.8", headers={"Authorization": "Bearer atb_deadbeef_nope"}
    )
    assert r.status_code == 401
    r = httpx.get(f"{server.url}/v1/ip/8.8.8.8", headers={"X-API-Key": server.key})
    assert r.status_code == 200
    with server.client() as c:
        assert c.get("/v1/ip/8.8.8.8").status_code == 200


def test_revoked_key_is_403(server: Server) -> None:
    key = create_key(server.keys_db, "to-revoke")
    with server.client(key) as c:
        assert c.get("/v1/ip/8.8.8.8").status_code == 200
        subprocess.run(
            [
                sys.executable,
                "-m",
                "attrib",
                "keys",
                "revoke",
                "to-revoke",
                "--keys-db",
                str(server.keys_db),
            ],
            check=True,
            capture_output=True,
        )
        r = c.get("/v1/ip/8.8.8.8")
        assert r.status_code == 403 and "revoked" in r.json()["error"]


def test_single_lookup_shape(server: Server) -> None:
    with server.client() as c:
        body = c.get("/v1/ip/[2001:4860:4860::8888]:443").json()
    assert body["ip"] == "2001:4860:4860::8888"
    assert body["source"]["ip"] == "2001:4860:4860::8888"
    assert isinstance(body["source"]["as"]["number"], int)
    assert body["attrib"]["net_type"] in {
        "residential",
        "mobile",
        "hosting",
        "cdn",
        "business",
        "education",
        "government",
        "unknown",
    }
    assert isinstance(body["attrib"]["tags"], list)


@pytest.mark.parametrize("bad", ["999.1.1.1", "not-an-ip", "1.2.3", "%00"])
def test_invalid_address_is_422(server: Server, bad: str) -> None:
    with server.client() as c:
        r = c.get(f"/v1/ip/{bad}")
    assert r.status_code == 422
    assert "invalid address" in r.json()["error"]


def test_batch_with_per_item_errors(server: Server) -> None:
    with server.client() as c:
        r = c.post("/v1/enrich", json={"ips": ["8.8.8.8", "bogus", "1.2.3[.]4", " 10.0.0.1 "]})
    assert r.status_code == 200
    items = r.json()["items"]
    assert [("error" in i) for i in items] == [False, True, False, False]
    assert items[2]["ip"] == "1.2.3.4"
    assert "private" in items[3]["attrib"]["tags"]


def test_batch_limit_and_validation(server: Server) -> None:
    with server.client() as c:
        r = c.post("/v1/enrich", json={"ips": ["1.1.1.1"] * 10_001})
        assert r.status_code == 422 and "exceeds the limit of 10000" in r.text
        r = c.post("/v1/enrich", content=b"{not json", headers={"content-type": "application/json"})
        assert r.status_code == 422
        r = c.post("/v1/enrich", json={"addresses": ["1.1.1.1"]})
        assert r.status_code == 422
        r = c.post("/v1/enrich", json={"ips": "1.1.1.1"})
        assert r.status_code == 422
    assert "Traceback" not in r.text


def test_huge_body_is_413(server: Server) -> None:
    with server.client() as c:
        r = c.post(
            "/v1/enrich",
            content=b"x" * (9 * 1024 * 1024),
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 413

        def chunks():  # no Content-Length: limit enforced while streaming
            for _ in range(10):
                yield b"y" * (1024 * 1024)

        r = c.post("/v1/enrich", content=chunks(), headers={"content-type": "application/json"})
        assert r.status_code == 413


def test_ten_thousand_batch_answers_every_address(server: Server) -> None:
    # the batch's speed is measured by bench/api_load.py (ratios, medians), not asserted here
    import ipaddress
    import random

    rng = random.Random(7)
    ips = [str(ipaddress.IPv4Address(rng.getrandbits(32))) for _ in range(10_000)]
    with server.client() as c:
        r = c.post("/v1/enrich", json={"ips": ips})
    body = r.json()
    assert r.status_code == 200 and body["count"] == 10_000
    assert [rec["ip"] for rec in body["items"]] == ips and body["errors"] == 0


def test_concurrent_clients(server: Server) -> None:
    def work(i: int) -> list[int]:
        with server.client() as c:
            return [c.get(f"/v1/ip/{PUBLIC[(i + j) % len(PUBLIC)]}").status_code for j in range(25)]

    with cf.ThreadPoolExecutor(8) as ex:
        codes = [code for res in ex.map(work, range(8)) for code in res]
    assert codes == [200] * 200


def test_metrics_count_requests(server: Server) -> None:
    with server.client() as c:
        c.get("/v1/ip/8.8.8.8")
    text = httpx.get(f"{server.url}/metrics").text
    assert 'attrib_http_requests_total{route="/v1/ip/{ip}",method="GET",status="200"}' in text
    assert "attrib_http_request_duration_seconds_bucket" in text
    assert "attrib_lookup_cache_hits_total" in text and "attrib_info{" in text


def test_access_log_has_no_secrets(server: Server) -> None:
    with server.client() as c:
        c.get("/v1/ip/8.8.8.8")
    log = server.log.read_text()
    secret = server.key.split("_")[2]
    assert "/v1/ip/8.8.8.8" in log and secret not in log


def compact(v: object) -> object:
    if isinstance(v, dict):
        out = {k: compact(x) for k, x in v.items()}
        return {k: x for k, x in out.items() if x not in (None, {}, [], "")}
    return v


def test_answers_identical_across_api_cli_python(server: Server, tmp_path) -> None:
    import attrib

    ips = ["8.8.8.8", "2001:4860:4860::8888", "192.168.1.10", "1.2.3.4:443"]
    with server.client() as c:
        api_items = c.post("/v1/enrich", json={"ips": ips}).json()["items"]
        single = [c.get(f"/v1/ip/{ip}").json() for ip in ips]
    py = attrib.enrich(ips)
    py_items = [
        {
            "ip": rec["source.ip"],
            **nest_ecs({k: v for k, v in rec.items() if k not in ("ip_error", "attrib.ip_error")}),
        }
        for rec in py.to_dict("records")
    ]
    out = subprocess.run(
        [sys.executable, "-m", "attrib", "enrich", *ips, "--format", "ndjson"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    cli_items = [
        {
            "ip": rec["source.ip"],
            **nest_ecs({k: v for k, v in rec.items() if k not in ("ip_error", "attrib.ip_error")}),
        }
        for rec in map(json.loads, out.splitlines())
    ]
    # the CLI's NDJSON omits null fields; compare values with nulls (and emptied objects) dropped
    api_items, single, py_items, cli_items = (
        [compact(i) for i in items] for items in (api_items, single, py_items, cli_items)
    )
    assert api_items == single == py_items == cli_items
    assert api_items[0]["source"]["as"]["number"] > 0


def test_rate_limit_429_with_retry_after(tmp_path) -> None:
    srv = start_server(tmp_path, env={"ATTRIB_RATE_LIMIT_RPS": "1", "ATTRIB_RATE_LIMIT_BURST": "3"})
    try:
        with srv.client() as c:
            codes = [c.get("/v1/ip/8.8.8.8").status_code for _ in range(6)]
            r = c.get("/v1/ip/8.8.8.8")
        assert codes[:3] == [200, 200, 200] and 429 in codes[3:]
        assert r.status_code == 429 and int(r.headers["retry-after"]) >= 1
    finally:
        stop(srv)


def test_serve_refuses_insecure_production(tmp_path) -> None:
    p = subprocess.run(
        [sys.executable, "-m", "attrib", "serve", "--no-auth", "--keys-db", str(tmp_path / "k.db")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert p.returncode != 0 and "Traceback" not in p.stderr
    assert "development" in p.stderr
