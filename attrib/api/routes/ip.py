"""``GET /v1/ip/{ip}``: everything attrib knows about one origin."""

from __future__ import annotations

from fastapi import APIRouter

from attrib.api._json import FastJSON
from attrib.api.deps import ReadyStateDep

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["lookup"])


@router.get(
    "/ip/{ip:path}", responses={422: {"description": "Invalid address"}}, response_class=FastJSON
)
async def get_ip(ip: str, state: ReadyStateDep) -> FastJSON:
    """ECS-shaped enrichment of one address, plus its sightings when the store knows it."""
    ans = state.lookup_one(ip)
    if "error" in ans:
        return FastJSON({"error": f"invalid address: {ans['error']}", "ip": ip}, status_code=422)
    return FastJSON(ans)
