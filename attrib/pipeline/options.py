"""The options of one ``analyze`` run, gathered once and passed to every stage as one value."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import pandas as pd

from attrib.context import OrgContext

__all__ = ["RunOptions"]

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class RunOptions:
    """What one run was asked to do; built by :func:`attrib.pipeline.analyze`.

    Attributes
    ----------
    context
        The organisation's context as configured (inference completes it later).
    window
        ``(since, until)``: keep events with ``since <= ts < until`` (None: open).
    out
        Folder of the batch outputs, or None.
    model
        Scoring model file (None: the shipped model).
    geoip_dir
        Folder of the user's ``.mmdb`` files.
    threshold
        Score from which origins and clusters are flagged.
    show
        Progress bars on, off, or on a terminal only (None).
    keep_events
        Keep the events table (materialised front) instead of streaming.
    read_kw
        ``format`` and ``options`` for :func:`attrib.io.iter_read` (``--format``,
        ``--flow-mapping``).
    direction
        ``inbound``, ``outbound`` or ``both``; None: inferred from the data.
    run_id, created
        The run's identifier and start time.
    read_kw
        ``format`` and ``options`` for :func:`attrib.io.iter_read` (``--format``,
        ``--flow-mapping``).
    direction
        ``"inbound"``, ``"outbound"``, ``"both"``, or None to infer it
        (:mod:`attrib.features.direction`).
    engine
        ``"memory"`` (materialised front), ``"stream"`` or ``"dask"``; None: ``memory`` when
        ``keep_events`` else ``stream``.
    scheduler
        Dask scheduler address (``tcp://host:port``); None: a LocalCluster on this machine.
    workers
        LocalCluster worker processes; None: the CPUs (at most one per partition).
    """

    context: OrgContext
    window: tuple[pd.Timestamp | None, pd.Timestamp | None]
    run_id: str
    created: datetime
    out: PathLike | None = None
    model: PathLike | None = None
    geoip_dir: PathLike | None = None
    threshold: float = 0.5
    show: bool | None = None
    keep_events: bool = True
    read_kw: dict[str, Any] = field(default_factory=dict)
    direction: str | None = None
    engine: str | None = None
    scheduler: str | None = None
    workers: int | None = None
