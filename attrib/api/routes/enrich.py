"""``POST /v1/enrich``: a batch of addresses."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from attrib.api._json import FastJSON
from attrib.api.deps import ReadyStateDep

__all__ = ["EnrichRequest", "router"]

router = APIRouter(prefix="/v1", tags=["lookup"])


class EnrichRequest(BaseModel):
    """A batch of addresses in any textual form (``1.2.3.4:443``, ``[2001:db8::1]``...)."""

    model_config = ConfigDict(extra="forbid")
    ips: list[str] = Field(..., description="Addresses to enrich.")


@router.post("/enrich", response_class=FastJSON)
def enrich_batch(req: EnrichRequest, state: ReadyStateDep) -> FastJSON:
    """Enrich up to ``max_batch`` addresses; invalid ones get a per-item error."""
    limit = state.settings.max_batch
    if len(req.ips) > limit:
        raise HTTPException(422, f"batch of {len(req.ips)} addresses exceeds the limit of {limit}")
    items = state.lookup(req.ips)
    errors = sum("error" in i for i in items)
    return FastJSON({"count": len(items), "errors": errors, "items": items})
