"""Labelled origin tables from simulator scenarios, for training and evaluating the scorer.

One scenario goes through exactly the stages a real run uses — simulate, read, enrich,
features, cluster — and its origins are joined to the scenario's ground truth by address:

    simulate(preset, seed) -> attrib.read -> Enricher.lookup -> complete_context
        -> build_origins -> OriginClusterer -> join truth.parquet on ip

Scenario tables are cached in a work folder (keyed by attrib version and feature list), so
``attrib train`` and ``attrib evaluate`` reuse what was simulated before.

>>> from attrib.score.training import Scenario, build_dataset
>>> data = build_dataset([Scenario("demo", 1)], "work/")  # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from attrib._version import __version__
from attrib.errors import ConfigError
from attrib.schema import LABEL_COLUMNS

__all__ = [
    "DEFAULT_EVAL",
    "DEFAULT_TRAIN",
    "LABEL_COLUMNS",
    "Scenario",
    "build_dataset",
    "label_origins",
    "parse_scenarios",
    "scenario_origins",
]

logger = logging.getLogger(__name__)

#: Columns the join with ground truth adds to an origins table.

_TRUTH_FILES = ("truth.parquet", "truth.json", "truth_chains.parquet", "org.toml", "scenario.json")


@dataclass(frozen=True)
class Scenario:
    """One simulator scenario: a preset, a seed and parameter overrides.

    Parameters
    ----------
    preset
        Simulator preset name.
    seed
        Random seed.
    overrides
        ``(key, value)`` pairs passed to the simulator (``victim_country``,
        ``campaign.attempts_per_exit_day``, ...).
    """

    preset: str
    seed: int
    overrides: tuple[tuple[str, str], ...] = field(default_factory=tuple)

    @property
    def id(self) -> str:
        """Stable identifier, e.g. ``demo-s3`` or ``demo-s3-victim_country=FR``."""
        extra = "".join(f"-{k}={v}" for k, v in self.overrides)
        return f"{self.preset}-s{self.seed}{extra}"

    @classmethod
    def parse(cls, text: str) -> Scenario:
        """Parse ``PRESET:SEED[:key=value,key=value]``.

        Parameters
        ----------
        text
            E.g. ``quiet:101`` or ``demo:7:victim_country=FR,days=7``.

        Returns
        -------
        Scenario
            The scenario.
        """
        parts = text.strip().split(":", 2)
        if len(parts) < 2 or not parts[0] or not parts[1].isdigit():
            raise ConfigError(f"scenario {text!r}: expected PRESET:SEED[:key=value,...]")
        pairs: list[tuple[str, str]] = []
        if len(parts) == 3 and parts[2]:
            for kv in parts[2].split(","):
                k, sep, v = kv.partition("=")
                if not sep or not k:
                    raise ConfigError(f"scenario {text!r}: override {kv!r} is not key=value")
                pairs.append((k.strip(), v.strip()))
        return cls(parts[0], int(parts[1]), tuple(pairs))

    def __str__(self) -> str:
        extra = ",".join(f"{k}={v}" for k, v in self.overrides)
        return f"{self.preset}:{self.seed}" + (f":{extra}" if extra else "")


def parse_scenarios(texts: Iterable[str]) -> list[Scenario]:
    """Parse scenario specs; each text may hold several separated by spaces or semicolons.

    Parameters
    ----------
    texts
        Specs as accepted by :meth:`Scenario.parse`; ``PRESET:A-B`` expands seeds A..B.

    Returns
    -------
    list of Scenario
        In the given order.
    """
    out: list[Scenario] = []
    for text in texts:
        for tok in text.replace(";", " ").split():
            head, _, rest = tok.partition(":")
            seeds, _, extra = rest.partition(":")
            if "-" in seeds and all(p.isdigit() for p in seeds.split("-", 1)):
                a, b = (int(p) for p in seeds.split("-", 1))
                for s in range(a, b + 1):
                    out.append(Scenario.parse(f"{head}:{s}" + (f":{extra}" if extra else "")))
            else:
                out.append(Scenario.parse(tok))
    return out


#: Scenarios the shipped model is trained on: presets demo, loud, hybrid, provisioned,
#: victim_us (victim countries DE and US), seeds 1-2, one simulated week each (cost).
DEFAULT_TRAIN: tuple[Scenario, ...] = tuple(
    parse_scenarios(
        [
            "demo:1-2:days=7",
            "loud:1:days=7",
            "hybrid:1:days=7",
            "provisioned:1:days=7",
            "victim_us:1:days=7",
        ]
    )  # fmt: skip
)
#: Held-out scenarios: presets (quiet, very_quiet, victim_jp), seeds (101+) and victim
#: countries (JP, FR, BR) never used in training or tuning.
DEFAULT_EVAL: tuple[Scenario, ...] = tuple(
    parse_scenarios(
        [
            "quiet:101-102",
            "very_quiet:101-102",
            "victim_jp:101-102",
            "demo:103:victim_country=FR",
            "hybrid:104:victim_country=BR",
        ]
    )  # fmt: skip
)


_PKG = Path(__file__).resolve().parents[1]
#: Code that turns logs into labelled origins (a change invalidates cached tables).
_PIPELINE_SOURCES = ("io", "enrich", "features", "cluster", "context")


def _source_hash(parts: Iterable[str]) -> str:
    """sha256 over the Python sources of the given package parts (paths and bytes)."""
    h = hashlib.sha256(__version__.encode())
    for part in parts:
        p = _PKG / part
        files = sorted(p.rglob("*.py")) if p.is_dir() else [p] if p.exists() else []
        for f in files:
            h.update(str(f.relative_to(_PKG)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()


def _cache_key() -> str:
    """Key of cached labelled tables: attrib version + the pipeline's source code."""
    return _source_hash(_PIPELINE_SOURCES)[:12]


def _sim_key() -> str:
    """Key of the simulator's source code (recorded beside each simulated scenario)."""
    return _source_hash(("simulate",))[:12]


def _cache_file(folder: Path) -> Path:
    """Cached labelled origins of a scenario folder (keyed by pipeline and simulator code)."""
    return folder / "_cache" / f"origins-{_cache_key()}-{_sim_key()}.parquet"


def _inputs(folder: Path) -> list[Path]:
    """The scenario's log files (everything except ground truth and organisation files)."""
    return sorted(
        p for p in folder.rglob("*")
        if p.is_file() and p.name not in _TRUTH_FILES and not p.name.startswith((".", "truth"))
        and p.parent.name != "_cache"
    )  # fmt: skip


def label_origins(origins: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Join ground truth onto origins by address.

    Origins the simulator did not list (should not happen) are kept as ``label="unknown"``
    and count as not adversary; a warning reports how many.

    Parameters
    ----------
    origins
        Origins table with ``ip``.
    truth
        ``truth.parquet`` rows (``ip``, ``label``, ``kind``, ``campaign``, ``role``).

    Returns
    -------
    pandas.DataFrame
        ``origins`` plus ``label``, ``kind``, ``campaign``, ``role`` and ``y`` (1 = adversary).
    """
    cols = ["ip", "label", "kind", "campaign", "role"]
    t = truth.loc[:, cols].drop_duplicates("ip").astype({"ip": "string"})
    out = origins.drop(columns=[c for c in cols[1:] if c in origins.columns])
    out = out.astype({"ip": "string"}).merge(t, on="ip", how="left", validate="many_to_one")
    unknown = int(out["label"].isna().sum())
    if unknown:
        logger.warning("%d origins are not in the ground truth; labelled 'unknown'", unknown)
    out["label"] = out["label"].astype("string").fillna("unknown")
    out["kind"] = out["kind"].astype("string").fillna("unknown")
    out["y"] = (out["label"] == "adversary").astype("int64")
    return out


def _origins_of(folder: Path, enricher: Any) -> pd.DataFrame:
    from attrib.cluster import OriginClusterer
    from attrib.context import OrgContext
    from attrib.context.infer import complete_context
    from attrib.features import build_origins
    from attrib.io import read

    events = read(_inputs(folder), skip_unreadable=True)
    ips = pd.Series(pd.unique(events["src_ip"].dropna()), dtype="string")
    enrichment = enricher.lookup(ips)
    org = folder / "org.toml"
    ctx = OrgContext.from_toml(org) if org.exists() else OrgContext()
    ctx = complete_context(ctx, events, enrichment)
    origins = build_origins(events, enrichment, ctx, enricher=enricher)
    clusterer = OriginClusterer().fit(origins)
    failed = events.loc[events["outcome"] == "failure", "src_ip"].value_counts()
    return origins.assign(
        cluster=clusterer.cluster_ids_,
        # for the failed-sign-in baseline only; never a model feature
        baseline_failed_signins=origins["ip"].map(failed).fillna(0).astype("float64"),
    )


def scenario_origins(
    scenario: Scenario,
    workdir: str | os.PathLike[str],
    *,
    enricher: Any = None,
    use_cache: bool = True,
) -> pd.DataFrame:
    """Simulate one scenario (unless already simulated) and return its labelled origins.

    Parameters
    ----------
    scenario
        What to simulate.
    workdir
        Folder for the simulated logs and the cached labelled table.
    enricher
        Enrichment backend (default: the bundled data).
    use_cache
        Reuse a cached labelled table built by the same attrib version and features.

    Returns
    -------
    pandas.DataFrame
        The clustered origins with :data:`LABEL_COLUMNS`.
    """
    folder = Path(workdir) / scenario.id
    cache = _cache_file(folder)
    if use_cache and cache.exists():
        return pd.read_parquet(cache)
    marker = folder / "_cache" / "simulator.key"
    stale = (folder / "truth.parquet").exists() and (
        not marker.exists() or marker.read_text(encoding="utf-8").strip() != _sim_key()
    )
    if stale:
        logger.warning("%s was simulated by another simulator version; simulating again", folder)
        shutil.rmtree(folder)
    if not (folder / "truth.parquet").exists():
        from attrib.simulate import simulate

        logger.info("simulating %s", scenario)
        overrides: dict[str, Any] = dict(scenario.overrides)
        simulate(scenario.preset, scenario.seed, folder, **overrides)
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(_sim_key() + "\n", encoding="utf-8")
    if enricher is None:
        from attrib.enrich import default_enricher

        enricher = default_enricher()
    origins = _origins_of(folder, enricher)
    out = label_origins(origins, pd.read_parquet(folder / "truth.parquet"))
    out["scenario"] = scenario.id
    out["preset"] = scenario.preset
    out["seed"] = scenario.seed
    cache.parent.mkdir(parents=True, exist_ok=True)
    out.to_parquet(cache, index=False)
    return out


def build_dataset(
    scenarios: Sequence[Scenario],
    workdir: str | os.PathLike[str],
    *,
    enricher: Any = None,
    use_cache: bool = True,
) -> pd.DataFrame:
    """Labelled origins of several scenarios, one table (``scenario`` tells them apart).

    Parameters
    ----------
    scenarios
        Scenarios to simulate (or reuse).
    workdir
        Work folder (see :func:`scenario_origins`).
    enricher
        Enrichment backend (default: the bundled data).
    use_cache
        Reuse cached scenario tables.

    Returns
    -------
    pandas.DataFrame
        Concatenated labelled origins.
    """
    if not scenarios:
        raise ConfigError("no scenarios given")
    frames = []
    for i, sc in enumerate(scenarios, start=1):
        df = scenario_origins(sc, workdir, enricher=enricher, use_cache=use_cache)
        logger.info("[%d/%d] %s: %d origins, %d adversary", i, len(scenarios), sc,
                    len(df), int(df["y"].sum()))  # fmt: skip
        frames.append(df)
    return pd.concat(frames, ignore_index=True)
