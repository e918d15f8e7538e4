"""``POST /v1/score``: score a batch of events against the current model and store."""

from __future__ import annotations

import json
import math
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from attrib.api.deps import ReadyStateDep
from attrib.api.state import ServiceState, _plain
from attrib.errors import AttribError

__all__ = ["ScoreRequest", "router"]

router = APIRouter(prefix="/v1", tags=["score"])


class ScoreRequest(BaseModel):
    """A batch of events to score.

    Events in attrib's canonical shape (``src_ip``, ``ts``, ``user``, ``outcome``, ...) or raw
    provider records (Entra ID sign-ins, Okta System Log, Microsoft 365 audit, Zeek JSON).
    """

    model_config = ConfigDict(extra="forbid")
    events: list[dict[str, Any]] = Field(..., description="Events to score.")


def _finite(records: list[dict[str, Any]]) -> None:
    """Refuse non-finite numbers (``Infinity``, ``NaN``, ``1e400``), which JSON cannot carry.

    Python's JSON parser accepts them; no reader or column can use them, and a score
    answer holding one could not be encoded.
    """
    for i, rec in enumerate(records, start=1):
        for k, v in rec.items():
            if isinstance(v, float) and not math.isfinite(v):
                raise ValueError(f"event {i}: field {k!r} is not a finite number")


def _events_frame(records: list[dict[str, Any]]) -> pd.DataFrame:
    from attrib.io import read
    from attrib.schema import conform_events

    _finite(records)
    if all("src_ip" in r for r in records):
        df = pd.DataFrame.from_records(records)
        if "ts" in df.columns:
            df["ts"] = pd.to_datetime(df["ts"], utc=True, format="mixed")
        return conform_events(df)
    # raw provider records: let the readers sniff and parse them exactly as from a file
    with tempfile.TemporaryDirectory(prefix="attrib-score-") as d:
        p = Path(d) / "events.ndjson"
        p.write_text("\n".join(json.dumps(r) for r in records) + "\n", encoding="utf-8")
        return read(p, max_bad_rows=0)


def _score(state: ServiceState, events: pd.DataFrame) -> list[dict[str, Any]]:
    from attrib.pipeline import analyze

    st = state.settings
    a = analyze(events, model=st.model, geoip_dir=st.geoip_dir, progress=False)
    origins = a.origins.sort_values("rank")
    cols = [c for c in ("ip", "score", "rank", "cluster", "net_type", "asn", "as_org", "country",
                        "first_seen", "last_seen", "reasons", "reasons_json")
            if c in origins.columns]  # fmt: skip
    known = state._store_rows([str(ip) for ip in origins["ip"]])
    out: list[dict[str, Any]] = []
    for rec in origins[cols].to_dict("records"):
        item = {str(k): _plain(v) for k, v in rec.items()}
        if isinstance(item.get("reasons_json"), str):
            item["reasons_json"] = json.loads(item["reasons_json"])
        hist = known.get(str(item["ip"]))
        if hist:  # what earlier analyses stored about this origin
            item["history"] = {k.removeprefix("attrib."): v for k, v in hist.items()}
        out.append(item)
    return out


@router.post("/score")
def score(req: ScoreRequest, state: ReadyStateDep) -> dict[str, Any]:
    """Per-origin calibrated scores and reasons for a batch of events."""
    if not req.events:
        raise HTTPException(422, "no events given")
    if len(req.events) > state.settings.max_batch:
        raise HTTPException(
            422,
            f"batch of {len(req.events)} events exceeds the limit of {state.settings.max_batch}",
        )
    if state.model is None:
        raise HTTPException(503, "no scoring model loaded")
    try:
        events = _events_frame(req.events)
    except (AttribError, ValueError, TypeError, OverflowError) as exc:
        # OverflowError: an integer beyond its column (bytes_out 10**30) is bad input too
        raise HTTPException(422, f"events could not be read: {exc}") from None
    origins = _score(state, events)
    return {"events": len(events), "origins": origins}
