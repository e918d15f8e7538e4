"""``attrib simulate``: write a labelled scenario (logs, pcaps, org.toml, ground truth)."""

from __future__ import annotations

import json
from typing import Any

import click

from attrib.errors import ConfigError
from attrib.simulate import PRESETS, simulate
from attrib.simulate.randomise import RANDOMISED_PRESETS

__all__ = ["simulate_cmd"]


def _overrides(items: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for item in items:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--set {item!r}: expected key=value")
        out[key.strip()] = value.strip()
    return out


#: simulator counts -> how the summary names them, in the order printed
_COUNT_LABELS: tuple[tuple[str, str], ...] = (
    ("conn_rows", "conn rows"),
    ("ssl_rows", "ssl rows"),
    ("signins", "sign-ins"),
    ("mail_items_accessed", "MailItemsAccessed"),
    ("pcap_connections", "pcap connections"),
    ("origins", "origins"),
    ("adversary_origins", "adversary origins"),
    ("attempts", "attempts"),
    ("chain_edges", "chain edges"),
)


@click.command("simulate")
@click.option(
    "--preset",
    default="demo",
    show_default=True,
    type=click.Choice(sorted([*PRESETS, *RANDOMISED_PRESETS])),
    help="Scenario preset.",
)
@click.option("--seed", default=1, show_default=True, type=int, help="Random seed.")
@click.option(
    "-o",
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder to write the scenario into.",
)
@click.option(
    "--zeek-format",
    type=click.Choice(["tsv", "json"]),
    default=None,
    help="Zeek log format (default: the preset's, tsv).",
)
@click.option(
    "--compress",
    type=click.Choice(["none", "gz"]),
    default=None,
    help="Compress the text logs (default: the preset's).",
)
@click.option(
    "--set",
    "sets",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a parameter (repeatable), e.g. --set victim_country=JP "
    "--set campaign.attempts_per_exit_day=0.5.",
)
@click.option("--json", "as_json", is_flag=True, help="Print the result as JSON.")
def simulate_cmd(
    preset: str,
    seed: int,
    out: str,
    zeek_format: str | None,
    compress: str | None,
    sets: tuple[str, ...],
    as_json: bool,
) -> None:
    """Write a scenario of benign users, confounders and ORB campaigns with its ground truth."""
    overrides: dict[str, Any] = dict(_overrides(sets))
    if zeek_format:
        overrides["zeek_format"] = zeek_format
    if compress:
        overrides["compress"] = compress
    res = simulate(preset, seed, out, **overrides)
    if as_json:
        click.echo(
            json.dumps(
                {
                    "out": str(res.out),
                    "preset": res.preset,
                    "seed": res.seed,
                    "paths": {k: str(v) for k, v in res.paths.items()},
                    "counts": res.counts,
                },
                indent=2,
            )
        )
        return
    c = res.counts
    click.echo(f"{res.out}: preset {res.preset}, seed {res.seed}, {c.get('seconds', '?')} s")
    # generators report different counts (the token-forgery one has no connection logs):
    # print the ones this run has, in a fixed order, then any others by name
    parts = [f"{label} {c[key]}" for key, label in _COUNT_LABELS if key in c]
    known = {key for key, _ in _COUNT_LABELS} | {"seconds"}
    parts += [f"{key.replace('_', ' ')} {val}" for key, val in c.items() if key not in known]
    for i in range(0, len(parts), 5):
        click.echo("  " + ", ".join(parts[i : i + 5]))
