"""Fast JSON responses (orjson), bypassing FastAPI's generic ``jsonable_encoder`` walk."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi.responses import Response

__all__ = ["FastJSON"]


class FastJSON(Response):
    """A JSON response serialised with orjson (answers are plain dicts/lists already)."""

    media_type = "application/json"

    def render(self, content: Any) -> bytes:  # noqa: D102
        return orjson.dumps(content, option=orjson.OPT_SERIALIZE_NUMPY)
