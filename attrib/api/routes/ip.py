"""``GET /v1/ip/{ip}``: everything attrib knows about one origin.

Requests are answered by :class:`attrib.api.middleware.GuardMiddleware`'s fast path (no
routing, no dependency injection, pre-serialised answers); this route documents the endpoint
in the OpenAPI schema and answers the same when the app runs without the guard.
"""

from __future__ import annotations

from fastapi import APIRouter
from fastapi.responses import Response

from attrib.api.deps import ReadyStateDep

__all__ = ["router"]

router = APIRouter(prefix="/v1", tags=["lookup"])


@router.get(
    "/ip/{ip:path}",
    responses={
        200: {"content": {"application/json": {}}, "description": "ECS-shaped enrichment"},
        422: {"description": "Invalid address"},
    },
    response_class=Response,
)
async def get_ip(ip: str, state: ReadyStateDep) -> Response:
    """ECS-shaped enrichment of one address, plus its sightings when the store knows it."""
    status, body = state.lookup_one_bytes(ip)
    return Response(body, status_code=status, media_type="application/json")
