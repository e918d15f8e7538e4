"""``attrib serve`` (the HTTP enrichment service) and ``attrib keys`` (its API keys)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import TYPE_CHECKING, Any

import click

from attrib.errors import ConfigError

if TYPE_CHECKING:
    from attrib.api.keys import KeyStore

__all__ = ["keys_cmd", "serve_cmd"]

_INSTALL_HINT = "the service needs the 'api' extra: pip install 'attrib[api]'"


def _settings_env(**values: object) -> dict[str, str]:
    return {f"ATTRIB_{k.upper()}": str(v) for k, v in values.items() if v is not None}


@click.command("serve")
@click.option("--host", default=None, help="Bind address [default: 127.0.0.1].")
@click.option("--port", type=int, default=None, help="Port [default: 8787].")
@click.option("--workers", type=int, default=None, help="Worker processes [default: 1].")
@click.option(
    "--store",
    type=click.Path(dir_okay=False),
    default=None,
    help="Sightings store (created empty if missing; attrib analyze --store fills it).",
)
@click.option(
    "--geoip-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder with your .mmdb databases (MaxMind, DB-IP, IPinfo).",
)
@click.option("--model", type=click.Path(dir_okay=False), default=None, help="Scoring model.")
@click.option("--keys-db", type=click.Path(dir_okay=False), default=None, help="API key database.")
@click.option("--environment", type=click.Choice(["development", "production"]), default=None)
@click.option("--no-auth", is_flag=True, help="Disable API keys (development only).")
@click.option("--max-batch", type=int, default=None, help="Addresses/events per batch [10000].")
@click.option("--open-docs", is_flag=True, help="Serve /docs, /redoc, /openapi.json without a key.")
@click.option("--open-metrics", is_flag=True, help="Serve /metrics without a key.")
@click.option("--ssl-certfile", type=click.Path(exists=True, dir_okay=False), default=None)
@click.option("--ssl-keyfile", type=click.Path(exists=True, dir_okay=False), default=None)
def serve_cmd(
    host: str | None,
    port: int | None,
    workers: int | None,
    store: str | None,
    geoip_dir: str | None,
    model: str | None,
    keys_db: str | None,
    environment: str | None,
    no_auth: bool,
    max_batch: int | None,
    open_docs: bool,
    open_metrics: bool,
    ssl_certfile: str | None,
    ssl_keyfile: str | None,
) -> None:
    """Serve the authenticated HTTP enrichment API (see docs/siem.md)."""
    try:
        import uvicorn

        from attrib.api.settings import ServiceSettings
    except ImportError:
        raise ConfigError(_INSTALL_HINT) from None
    os.environ.update(_settings_env(
        host=host, port=port, workers=workers, store=store, geoip_dir=geoip_dir, model=model,
        keys_db=keys_db, environment=environment, max_batch=max_batch,
        auth="false" if no_auth else None, open_docs="true" if open_docs else None,
        open_metrics="true" if open_metrics else None,
    ))  # fmt: skip
    from pydantic import ValidationError

    try:
        st = ServiceSettings()
    except ValidationError as exc:
        msgs = "; ".join(str(e.get("msg", "")) for e in exc.errors())
        raise ConfigError(f"invalid service settings: {msgs}") from None
    if st.auth and not Path(st.keys_db).exists():
        raise ConfigError(f"{st.keys_db}: no API key database; run 'attrib keys create NAME' first")
    if st.store is not None and not Path(st.store).exists():
        _create_store(Path(st.store))
    click.echo(
        f"attrib serve: http{'s' if ssl_certfile else ''}://{st.host}:{st.port} "
        f"({st.workers} worker{'s' if st.workers > 1 else ''})",
        err=True,
    )
    uvicorn.run(
        "attrib.api.app:create_app", factory=True, host=st.host, port=st.port,
        workers=st.workers, log_level="info" if st.access_log else "warning",
        # attrib's own access log (GuardMiddleware) replaces uvicorn's; uvloop + httptools
        # when installed (the api extra's uvicorn[standard] brings both), with a header
        # read timeout; connections capped (503 beyond), idle keep-alive closed quickly
        access_log=False, loop="auto", http=_http_protocol(),
        ssl_certfile=ssl_certfile, ssl_keyfile=ssl_keyfile, proxy_headers=True,
        server_header=False, date_header=False, timeout_keep_alive=st.keep_alive_s,
        limit_concurrency=st.max_connections, h11_max_incomplete_event_size=16 * 1024,
    )  # fmt: skip


def _http_protocol() -> Any:
    """The httptools protocol with a header timeout; uvicorn's default without httptools."""
    try:
        from attrib.api.protocol import TimedHttpToolsProtocol
    except ImportError:  # pragma: no cover - httptools missing: h11, no header timeout
        return "auto"
    return TimedHttpToolsProtocol


def _create_store(path: Path) -> None:
    """Create an empty sightings store so that a first ``serve`` works before any run."""
    from attrib.store import SightingsStore

    SightingsStore(path).close()
    click.echo(
        f"attrib serve: created an empty sightings store {path} "
        f"(fill it with: attrib analyze INPUT --out DIR --store {path})",
        err=True,
    )


def _store(keys_db: str | None) -> KeyStore:
    from attrib.api.keys import KeyStore
    from attrib.api.settings import default_keys_db

    return KeyStore(keys_db or os.environ.get("ATTRIB_KEYS_DB") or default_keys_db())


@click.group("keys")
def keys_cmd() -> None:
    """Manage the service's API keys (stored hashed)."""


_keys_db_opt = click.option(
    "--keys-db",
    type=click.Path(dir_okay=False),
    default=None,
    help="API key database [ATTRIB_KEYS_DB or $XDG_DATA_HOME/attrib/keys.db].",
)


@keys_cmd.command("create")
@click.argument("name")
@_keys_db_opt
def keys_create(name: str, keys_db: str | None) -> None:
    """Create a key named NAME; the key is printed once."""
    ks = _store(keys_db)
    rec, key = ks.create(name)
    click.echo(
        f"created key {rec.key_id} ({rec.name}); store it now, it is not shown again:", err=True
    )
    click.echo(key)


@keys_cmd.command("list")
@_keys_db_opt
@click.option("--json", "as_json", is_flag=True)
def keys_list(keys_db: str | None, as_json: bool) -> None:
    """List keys (ids and names, never secrets)."""
    ks = _store(keys_db)
    recs = ks.list()
    if as_json:
        click.echo(json.dumps([r.__dict__ for r in recs], indent=2))
        return
    for r in recs:
        state = f"revoked {r.revoked_at}" if r.revoked else "active"
        click.echo(f"{r.key_id}  {r.name:<24} created {r.created_at}  {state}")


@keys_cmd.command("revoke")
@click.argument("key_id_or_name")
@_keys_db_opt
def keys_revoke(key_id_or_name: str, keys_db: str | None) -> None:
    """Revoke a key by id or name."""
    ks = _store(keys_db)
    n = ks.revoke(key_id_or_name)
    if n == 0:
        raise ConfigError(f"no active key with id or name {key_id_or_name!r}")
    click.echo(f"revoked {n} key{'s' if n > 1 else ''}")
