"""Scenario simulator: labelled traffic of benign users, confounders and ORB campaigns.

Writes the files real sensors write — Zeek ``conn``/``ssl`` logs (TSV or JSON), Entra ID
sign-ins (Azure Monitor export), Microsoft 365 ``MailItemsAccessed`` audit records, small pcaps of
TLS handshakes — with ``org.toml`` (an :class:`attrib.context.OrgContext`) and the ground truth
(``truth.parquet``/``truth.json``, ``truth_chains.parquet``) beside them. Deterministic for a seed.

>>> from attrib.simulate import simulate
>>> res = simulate("demo", seed=7, out="scenario")  # doctest: +SKIP
>>> res.counts["conn_rows"]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from attrib.errors import OutputError
from attrib.simulate._addresses import Sampler
from attrib.simulate.presets import (
    PRESETS,
    CampaignParams,
    SimParams,
    apply_overrides,
    preset_params,
)

__all__ = ["PRESETS", "CampaignParams", "SimParams", "SimulationResult", "simulate"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class SimulationResult:
    """What a simulation wrote.

    Attributes
    ----------
    out
        The scenario folder.
    preset, seed
        What was run.
    params
        The parameters used (preset plus overrides).
    paths
        Output name -> file.
    counts
        Rows per output, origins, attempts, wall seconds.
    """

    out: Path
    preset: str
    seed: int
    params: SimParams
    paths: dict[str, Path] = field(default_factory=dict)
    counts: dict[str, Any] = field(default_factory=dict)


def simulate(
    preset: str | SimParams,
    seed: int,
    out: str | os.PathLike[str],
    *,
    sampler: Sampler | None = None,
    **overrides: Any,
) -> SimulationResult:
    """Generate a labelled scenario into ``out``.

    Parameters
    ----------
    preset
        A preset name (see :data:`PRESETS`; ``wild``, ``wild_soho``, ``wild_vps`` and
        ``wild_hybrid`` draw every behavioural parameter per seed, see
        :mod:`attrib.simulate.randomise`) or a :class:`SimParams`.
    seed
        Random seed; the same seed gives byte-identical files.
    out
        Folder to write into (created).
    sampler
        Address sampler with the signature of :func:`attrib.enrich.sample_ips` (for tests).
    **overrides
        Parameter overrides, e.g. ``users=500``, ``victim_country="JP"``,
        ``**{"campaign.attempts_per_exit_day": 0.5}``.

    Returns
    -------
    SimulationResult
        Paths and counts.

    Examples
    --------
    >>> res = simulate("demo", seed=1, out="/tmp/demo", days=3)  # doctest: +SKIP
    """
    from attrib.simulate._run import run
    from attrib.simulate.randomise import RANDOMISED_PRESETS, randomised_params

    if isinstance(preset, SimParams):
        base = preset
    elif preset in RANDOMISED_PRESETS:
        base = randomised_params(preset, seed)
    else:
        base = preset_params(preset)
    params = apply_overrides(base, overrides)
    dest = Path(out)
    try:
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OutputError(f"{dest}: cannot create output folder: {exc.strerror}") from None
    forged = any(c.network == "forged_tokens" for c in params.campaigns)
    try:
        if forged:
            from attrib.simulate.token_forgery import run_token_forgery

            counts = run_token_forgery(params, seed, dest, sampler)
        else:
            counts = run(params, seed, dest, sampler)
    except OSError as exc:
        raise OutputError(f"{dest}: cannot write scenario: {exc}") from None
    ext = "log" if params.zeek_format == "tsv" else "json"
    gz = ".gz" if params.compress == "gz" else ""
    paths = {
        "conn": dest / "zeek" / f"conn.{ext}{gz}",
        "ssl": dest / "zeek" / f"ssl.{ext}{gz}",
        "signins": dest / "entra" / f"signins.json{gz}",
        "audit": dest / "m365" / f"audit.json{gz}",
        "pcap": dest / "pcap" / "handshakes.pcap",
        "org": dest / "org.toml",
        "truth": dest / "truth.parquet",
        "truth_json": dest / "truth.json",
        "chains": dest / "truth_chains.parquet",
    }
    if forged:
        for k in ("conn", "ssl", "pcap"):
            paths.pop(k)
    if params.two_sided:
        paths["relay_conn"] = dest / "relay" / f"conn.{ext}{gz}"
    logger.info("simulated %s (seed %d) into %s: %s", params.name, seed, dest, counts)
    return SimulationResult(
        out=dest, preset=params.name, seed=seed, params=params, paths=paths, counts=counts
    )
