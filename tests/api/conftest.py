"""A real ``attrib serve`` process on loopback, shared by the API tests."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

pytest.importorskip("fastapi")
pytest.importorskip("uvicorn")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@dataclass
class Server:
    url: str
    key: str
    keys_db: Path
    proc: subprocess.Popen[bytes]
    log: Path

    def client(self, key: str | None = None, **kw: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key or self.key}"}
        return httpx.Client(base_url=self.url, headers=headers, timeout=30, **kw)  # type: ignore[arg-type]


def create_key(keys_db: Path, name: str) -> str:
    out = subprocess.run(
        [sys.executable, "-m", "attrib", "keys", "create", name, "--keys-db", str(keys_db)],
        capture_output=True,
        text=True,
        check=True,
    )
    return out.stdout.strip()


def start_server(tmp: Path, *extra: str, env: dict[str, str] | None = None) -> Server:
    keys_db = tmp / "keys.db"
    key = create_key(keys_db, "test-siem")
    port = free_port()
    log = tmp / f"server-{port}.log"
    e = {k: v for k, v in os.environ.items() if not k.startswith("ATTRIB_")}
    e.update(env or {})
    with log.open("wb") as fh:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "attrib",
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(port),
                "--keys-db",
                str(keys_db),
                *extra,
            ],
            stdout=fh,
            stderr=subprocess.STDOUT,
            env=e,
        )
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        try:
            if httpx.get(f"{url}/readyz", timeout=2).status_code == 200:
                return Server(url, key, keys_db, proc, log)
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not become ready: {log.read_text()[-2000:]}")


def stop(server: Server) -> None:
    server.proc.terminate()
    try:
        server.proc.wait(10)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    srv = start_server(tmp_path_factory.mktemp("api"), "--max-batch", "10000")
    yield srv
    stop(srv)
