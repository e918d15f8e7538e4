"""The result of :func:`attrib.analyze`: tables, explanations, plots and exports for notebooks."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from attrib.context import OrgContext
from attrib.io import ReadReport
from attrib.report.values import members as _members

__all__ = ["Analysis"]


@dataclass
class Analysis:
    """What one analysis found.

    Attributes
    ----------
    events
        The canonical events that were analysed.
    origins
        One row per origin: enrichment, features, ``cluster``, ``score``, ``rank``, ``reasons``.
    clusters
        One row per infrastructure cluster (:data:`attrib.schema.CLUSTER_COLUMNS`).
    context
        The organisation context used (configured and/or inferred).
    read_report
        Rows read and skipped per file, and unreadable files.
    meta
        The run metadata (the content of ``run.json``).
    scorer
        The scoring model used (for :meth:`explain`).
    out
        The output folder, when outputs were written.
    """

    events: pd.DataFrame
    origins: pd.DataFrame
    clusters: pd.DataFrame
    context: OrgContext
    read_report: ReadReport = field(default_factory=ReadReport)
    meta: dict[str, Any] = field(default_factory=dict)
    scorer: Any = None
    out: Path | None = None

    def __repr__(self) -> str:
        n = self.meta.get("counts", {})
        return (f"<Analysis {self.meta.get('run_id', '')}: {len(self.events)} events, "
                f"{len(self.origins)} origins, {len(self.clusters)} clusters, "
                f"{n.get('flagged', '?')} flagged>")  # fmt: skip

    # -- tables ----------------------------------------------------------------------------
    @property
    def top_cluster(self) -> str | None:
        """Id of the most suspicious cluster, or None without clusters."""
        if self.clusters.empty:
            return None
        return str(self.clusters.sort_values("score", ascending=False).iloc[0]["cluster"])

    def _origin(self, ip: str) -> pd.DataFrame:
        row = self.origins[self.origins["ip"] == str(ip)]
        if row.empty:
            raise KeyError(f"{ip} is not an origin of this analysis")
        return row

    def members(self, cluster: str) -> pd.DataFrame:
        """The origins of one cluster, in the order they appeared.

        Parameters
        ----------
        cluster
            Cluster id.

        Returns
        -------
        pandas.DataFrame
            Rows of :attr:`origins`, sorted by ``first_seen``.
        """
        row = self.clusters[self.clusters["cluster"].astype(str) == str(cluster)]
        if row.empty:
            raise KeyError(f"no cluster {cluster!r} in this analysis")
        ips = _members(row.iloc[0].get("members"))
        sel = self.origins["ip"].isin(ips) | (self.origins["cluster"] == str(cluster))
        return self.origins[sel].sort_values("first_seen").reset_index(drop=True)

    def explain(self, ip: str, top: int = 5) -> pd.DataFrame:
        """Why an origin scored as it did: its top drivers, most important first.

        Parameters
        ----------
        ip
            The origin address.
        top
            How many drivers.

        Returns
        -------
        pandas.DataFrame
            The scorer's explanation (feature, value, contribution, phrase).
        """
        row = self._origin(ip)
        if self.scorer is not None and hasattr(self.scorer, "explain"):
            exp = self.scorer.explain(row, top=top)
            return exp if isinstance(exp, pd.DataFrame) else pd.DataFrame(exp)
        reasons = str(row.iloc[0].get("reasons") or "")
        return pd.DataFrame({"reason": [r.strip() for r in reasons.split(";") if r.strip()]})

    def accounts(self, ips: Any = None, *, cluster: str | None = None) -> pd.DataFrame:
        """Pivot from origins to the accounts they touched (sign-in and audit events).

        Parameters
        ----------
        ips
            Origin addresses (one or many).
        cluster
            Or: every member of this cluster.

        Returns
        -------
        pandas.DataFrame
            One row per account: ``events``, ``successes``, ``failures``, ``origins`` (distinct
            addresses), ``apps``, ``first_seen``, ``last_seen``; most events first.
        """
        if cluster is not None:
            sel = set(self.members(cluster)["ip"])
        else:
            seq = [] if ips is None else [ips] if isinstance(ips, str) else list(ips)
            sel = {str(i) for i in seq}
        ev = self.events[self.events["src_ip"].isin(sel) & self.events["user"].notna()]
        cols = ["user", "events", "successes", "failures", "origins", "apps",
                "first_seen", "last_seen"]  # fmt: skip
        if ev.empty:
            return pd.DataFrame(columns=cols)
        g = ev.groupby("user", observed=True)
        out = pd.DataFrame({
            "events": g.size(),
            "successes": g["outcome"].agg(lambda s: int((s == "success").sum())),
            "failures": g["outcome"].agg(lambda s: int((s == "failure").sum())),
            "origins": g["src_ip"].nunique(),
            "apps": g["app"].agg(lambda s: ", ".join(sorted(s.dropna().astype(str).unique()))),
            "first_seen": g["ts"].min(),
            "last_seen": g["ts"].max(),
        })  # fmt: skip
        return out.sort_values("events", ascending=False).reset_index()[cols]

    def summary(self, n: int = 10) -> str:
        """A short ranked summary (what ``attrib analyze`` prints).

        Parameters
        ----------
        n
            How many origins.

        Returns
        -------
        str
            Text lines.
        """
        from attrib.report.summary import summary_text

        return summary_text(self, n)

    # -- plots -----------------------------------------------------------------------------
    def plot_map(self, ax: Any = None, **kwargs: Any) -> Any:
        """Origins on a world map, coloured by score (matplotlib; see :mod:`attrib.plot`)."""
        from attrib import plot

        return plot.plot_map(self.origins, ax=ax, **kwargs)

    def plot_timeline(self, cluster: str | None = None, ax: Any = None) -> Any:
        """The exits of one cluster over time, with hand-offs (default: the top cluster)."""
        from attrib import plot

        cid = cluster if cluster is not None else self.top_cluster
        if cid is None:
            raise KeyError("this analysis found no clusters")
        return plot.plot_timeline(self.members(cid), cluster=str(cid), ax=ax)

    def plot_graph(self, ax: Any = None, max_clusters: int = 10) -> Any:
        """Clusters, their members and the ASNs they sit in, as a graph."""
        from attrib import plot

        return plot.plot_graph(self.origins, self.clusters, ax=ax, max_clusters=max_clusters)

    # -- exports ---------------------------------------------------------------------------
    def to_stix(
        self, path: str | os.PathLike[str] | None = None, threshold: float | None = None
    ) -> Any:
        """The flagged infrastructure as a STIX 2.1 bundle; written to ``path`` when given.

        Parameters
        ----------
        path
            Where to write the JSON.
        threshold
            Minimum score (default: the run's threshold).

        Returns
        -------
        stix2.Bundle or pathlib.Path
            The bundle, or the written file.
        """
        from attrib.report.stix import stix_bundle, write_stix

        th = float(threshold if threshold is not None else self.meta.get("threshold", 0.5))
        if path is None:
            return stix_bundle(self.origins, self.clusters, th)
        return write_stix(self.origins, self.clusters, path, th)

    def to_ecs(self, path: str | os.PathLike[str]) -> Path:
        """Write the origins as ECS NDJSON (see :mod:`attrib.report.ecs`)."""
        from attrib.report.ecs import write_ecs

        return write_ecs(self.origins, path, run_id=self.meta.get("run_id"))

    def write(self, out: str | os.PathLike[str]) -> Path:
        """Write the batch outputs (as ``attrib analyze --out``) into ``out``, atomically.

        Parameters
        ----------
        out
            The output folder.

        Returns
        -------
        pathlib.Path
            The folder.
        """
        from attrib.report.batch import stage_outputs

        th = float(self.meta.get("threshold", 0.5))
        staged = stage_outputs(out, self.origins, self.clusters, dict(self.meta), threshold=th)
        staged.publish()
        self.out = staged.out
        return staged.out
