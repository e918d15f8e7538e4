"""``attrib train``, ``attrib evaluate``, ``attrib score``: the scoring model's commands."""

from __future__ import annotations

import json
import logging
import math
from dataclasses import replace
from pathlib import Path
from typing import Any

import click
import pandas as pd

from attrib.errors import ConfigError, InputError, UnreadableFileError

__all__ = ["evaluate_cmd", "score_cmd", "train_cmd"]

logger = logging.getLogger(__name__)

_WORKDIR_HELP = (
    "Folder for simulated scenarios and cached tables (default ~/.cache/attrib/scenarios)."
)


def _workdir(path: str | None) -> Path:
    return Path(path) if path else Path.home() / ".cache" / "attrib" / "scenarios"


def _scenarios(specs: tuple[str, ...], default: Any, shift: int = 0) -> list[Any]:
    from attrib.score.training import parse_scenarios

    if specs:
        return parse_scenarios(specs)
    return [replace(s, seed=s.seed + shift) for s in default]


def _shown(path: Path) -> str:
    """``path`` relative to the working folder when inside it (for printed commands)."""
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _json_default(v: Any) -> Any:
    if isinstance(v, float) and not math.isfinite(v):
        return None
    return str(v)


@click.command("train")
@click.option("--seed", default=1, show_default=True, type=int,
              help="Seed of the default training scenarios (1 = the shipped model).")  # fmt: skip
@click.option("--scenarios", "specs", multiple=True,
              help="Training scenarios PRESET:SEED[-SEED][:key=value,...] (default: the shipped "
                   "model's).")  # fmt: skip
@click.option("--eval-scenarios", "eval_specs", multiple=True,
              help="Held-out scenarios to evaluate on (default: the shipped model's).")  # fmt: skip
@click.option("--no-eval", is_flag=True, help="Skip the held-out evaluation (and the card).")
@click.option("-o", "--out", type=click.Path(dir_okay=False),
              help="Model file (default models/attrib-scorer-<version>.json).")  # fmt: skip
@click.option("--workdir", type=click.Path(file_okay=False), help=_WORKDIR_HELP)
@click.option("--no-cache", is_flag=True, help="Rebuild scenario tables from the logs.")
@click.option("--foreign", "foreign", type=click.Path(file_okay=False),
              help="Also validate on a folder of labelled scenarios from another generator "
                   "(figures go into the card; never used for training).")  # fmt: skip
def train_cmd(
    seed: int, specs: tuple[str, ...], eval_specs: tuple[str, ...], no_eval: bool,
    out: str | None, workdir: str | None, no_cache: bool, foreign: str | None,
) -> None:  # fmt: skip
    """Train the origin scorer on simulated scenarios; write the model, checksum and card."""
    from attrib.score import OriginScorer, model_path
    from attrib.score.card import render_card
    from attrib.score.evaluate import evaluate, format_report
    from attrib.score.training import DEFAULT_EVAL, DEFAULT_TRAIN, build_dataset

    train = _scenarios(specs, DEFAULT_TRAIN, seed - 1)
    held = _scenarios(eval_specs, DEFAULT_EVAL)
    clash = {s.id for s in train} & {s.id for s in held}
    if clash:
        raise ConfigError(f"scenarios used for training and evaluation: {', '.join(sorted(clash))}")
    wd = _workdir(workdir)
    data = build_dataset(train, wd, use_cache=not no_cache)
    model = OriginScorer().fit(data, data["y"], groups=data["scenario"])
    per = data.groupby("scenario", sort=True)["y"].agg(["size", "sum"])
    info = {
        "scenarios": [str(s) for s in train], "seed": seed, "origins": int(len(data)),
        "adversary": int(data["y"].sum()),
        "per_scenario": [[str(k), int(r["size"]), int(r["sum"])] for k, r in per.iterrows()],
    }  # fmt: skip
    model.metadata_ = {**model.metadata_, "training": info}
    target = Path(out) if out else model_path()
    target.parent.mkdir(parents=True, exist_ok=True)
    digest = model.save(target)
    click.echo(f"model: {target} (sha256 {digest}); {info['origins']} origins, "
               f"{info['adversary']} adversary, {len(train)} scenarios")  # fmt: skip
    if no_eval:
        return
    res = evaluate(model, build_dataset(held, wd, use_cache=not no_cache))
    click.echo(format_report(res))
    rows = None
    if foreign:
        from attrib.pipeline.foreign import evaluate_foreign
        from attrib.score.evaluate import format_foreign

        rows = evaluate_foreign(foreign, model, model_file=target, workdir=wd / "foreign",
                                use_cache=not no_cache)  # fmt: skip
        click.echo(format_foreign(rows))
        res = {**res, "foreign": rows}
    metrics = target.with_name(target.stem + ".metrics.json")
    metrics.write_text(json.dumps({"held_out": [str(s) for s in held], **res}, indent=1,
                                  default=_json_default) + "\n", encoding="utf-8")  # fmt: skip
    train_arg = "" if specs else f" --seed {seed}"
    commands = {
        "train (and evaluate) this model": f"attrib train{train_arg}"
        + "".join(f" --scenarios '{s}'" for s in specs)
        + (f" -o {out}" if out else "")
        + (f" --foreign {foreign}" if foreign else ""),
        "held-out metrics": f"attrib evaluate --model {_shown(target)} --scenarios '"
        + " ".join(str(s) for s in held)
        + "'",
        "scoring speed (1M origins)": "python bench/score_1m.py --rows 1000000 --repeat 3",
    }
    if foreign:
        commands["scenarios of another generator"] = (
            f"attrib evaluate --model {_shown(target)} --foreign {_shown(Path(foreign))}"
        )
    card = render_card(
        model, digest=digest, model_file=target.name, train=info, evaluation=res,
        eval_scenarios=[str(s) for s in held], commands=commands, foreign=rows,
    )  # fmt: skip
    (target.parent / "MODEL_CARD.md").write_text(card, encoding="utf-8")
    click.echo(f"card: {target.parent / 'MODEL_CARD.md'}; metrics: {metrics}")


@click.command("evaluate")
@click.option("--model", "model_file", type=click.Path(), help="Model file (default: shipped).")
@click.option("--scenarios", "specs", multiple=True,
              help="Scenarios PRESET:SEED[-SEED][:key=value,...] "
                   "(default: the held-out set).")  # fmt: skip
@click.option("--workdir", type=click.Path(file_okay=False), help=_WORKDIR_HELP)
@click.option("--no-cache", is_flag=True, help="Rebuild scenario tables from the logs.")
@click.option("--foreign", "foreign", type=click.Path(file_okay=False),
              help="Folder of labelled scenarios from another generator (each with its logs "
                   "and labels.json.gz): analyse each as a user would, then score it.")  # fmt: skip
@click.option("--json", "as_json", is_flag=True, help="Print the metrics as JSON.")
def evaluate_cmd(
    model_file: str | None, specs: tuple[str, ...], workdir: str | None, no_cache: bool,
    foreign: str | None, as_json: bool,
) -> None:  # fmt: skip
    """Evaluate a model and the baselines on labelled scenarios (simulated, or --foreign)."""
    from attrib.score import load_model
    from attrib.score.evaluate import evaluate, format_foreign, format_report
    from attrib.score.training import DEFAULT_EVAL, build_dataset

    model = load_model(model_file)
    if foreign:
        from attrib.pipeline.foreign import evaluate_foreign

        cache = _workdir(workdir) / "foreign" if workdir or not no_cache else None
        rows = evaluate_foreign(foreign, model, model_file=model_file, workdir=cache,
                                use_cache=not no_cache)  # fmt: skip
        click.echo(json.dumps(rows, indent=1, default=_json_default) if as_json
                   else format_foreign(rows))  # fmt: skip
        if not specs:
            return
    data = build_dataset(_scenarios(specs, DEFAULT_EVAL), _workdir(workdir), use_cache=not no_cache)
    res = evaluate(model, data)
    if as_json:
        click.echo(json.dumps(res, indent=1, default=_json_default))
    else:
        click.echo(format_report(res))


def _read_origins(path: Path) -> pd.DataFrame:
    try:
        if path.suffix.lower() == ".parquet":
            df = pd.read_parquet(path)
        elif path.suffix.lower() == ".csv":
            df = pd.read_csv(path, dtype={"ip": "string", "cluster": "string"})
            for c in ("first_seen", "last_seen"):
                if c in df.columns:
                    df[c] = pd.to_datetime(df[c], utc=True, format="mixed")
        else:
            raise InputError(f"{path}: origins table must be .parquet or .csv")
    except (OSError, ValueError) as exc:
        raise UnreadableFileError(f"{path}: cannot read origins table ({exc})") from None
    if "ip" not in df.columns:
        raise InputError(f"{path}: origins table has no 'ip' column")
    return df


@click.command("score")
@click.argument("origins", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, type=click.Path(dir_okay=False),
              help="Output .parquet, .csv, .json or .ndjson.")  # fmt: skip
@click.option("--model", "model_file", type=click.Path(), help="Model file (default: shipped).")
def score_cmd(origins: str, out: str, model_file: str | None) -> None:
    """Score an ORIGINS table (features + cluster) with a model: score, rank, reasons."""
    from attrib._atomic import write_table
    from attrib.score import load_model

    model = load_model(model_file)
    scored = model.score_origins(_read_origins(Path(origins))).sort_values("rank")
    write_table(scored.reset_index(drop=True), out)
    top = scored.iloc[0] if len(scored) else None
    click.echo(f"{len(scored)} origins scored with model {model.version_} -> {out}")
    if top is not None:
        click.echo(f"top: {top['ip']} score {top['score']:.3f}: {top['reasons']}")
