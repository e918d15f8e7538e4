"""The service's guard, as one pure-ASGI middleware (cheaper than per-route dependencies).

In order: route label and timing for metrics; open paths (health, metrics, docs) pass;
API key from ``Authorization: Bearer`` or ``X-API-Key`` (401 missing/unknown, 403 revoked);
per-key rate limit (429 + ``Retry-After``); request body limit (413, by ``Content-Length`` and
while streaming); a timeout (504); an access log line without secrets.

``GET /v1/ip/{addr}`` -- the SIEM's per-event lookup -- is answered right here after the same
checks, without FastAPI's routing and dependency injection: one cache lookup of pre-serialised
bytes (or a ~25 µs pandas-free lookup on a miss), two ``send`` calls. It cannot stall, so it
runs without the timeout wrapper.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

from attrib.api.state import ServiceState

__all__ = ["GuardMiddleware", "route_label"]

logger = logging.getLogger("attrib.api.access")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

_IP_PREFIX = "/v1/ip/"
_JSON = b"application/json"
#: served without a key, always
OPEN_PATHS = frozenset({"/healthz", "/readyz"})
#: served without a key only with ``open_docs`` / ``open_metrics``
DOC_PATHS = frozenset({"/openapi.json", "/docs", "/redoc"})
METRICS_PATH = "/metrics"
_LABELLED = OPEN_PATHS | DOC_PATHS | {METRICS_PATH, "/v1/enrich", "/v1/score"}


def is_open(path: str, open_docs: bool, open_metrics: bool) -> bool:
    """Whether ``path`` is served without an API key under these settings.

    Parameters
    ----------
    path
        The request path.
    open_docs, open_metrics
        The service settings of the same names.

    Returns
    -------
    bool
        True for health checks, and for docs/metrics when opened.
    """
    return (
        path in OPEN_PATHS
        or (open_docs and path in DOC_PATHS)
        or (open_metrics and path == METRICS_PATH)
    )


def route_label(path: str) -> str:
    """Metric label for a path (templates instead of raw values).

    Parameters
    ----------
    path
        The request path.

    Returns
    -------
    str
        e.g. ``/v1/ip/{ip}``.
    """
    if path.startswith("/v1/ip/"):
        return "/v1/ip/{ip}"
    if path in _LABELLED:
        return path
    return "other"


async def _json(
    send: Send, status: int, body: dict[str, Any], headers: list[tuple[bytes, bytes]]
) -> None:
    data = json.dumps(body).encode()
    await send({
        "type": "http.response.start", "status": status,
        "headers": [(b"content-type", b"application/json"),
                    (b"content-length", str(len(data)).encode()), *headers],
    })  # fmt: skip
    await send({"type": "http.response.body", "body": data})


class GuardMiddleware:
    """Authentication, limits, timeouts, metrics and access log for every HTTP request.

    Parameters
    ----------
    app
        The wrapped ASGI app.
    state
        The service state (settings, key store, limiter, metrics).
    """

    def __init__(self, app: ASGIApp, state: ServiceState) -> None:
        self.app = app
        self.state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:  # noqa: D102
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        path = scope.get("path", "")
        if scope.get("method") == "GET" and path.startswith(_IP_PREFIX):
            status, key_id = await self._fast_ip(scope, path, send)
            self._done(scope, path, status, key_id, time.perf_counter() - t0)
            return
        status_box = [500]
        key_id = "-"

        async def send_wrapper(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                status_box[0] = int(msg["status"])
            await send(msg)

        try:
            key_id = await self._guard(scope, receive, send_wrapper)
        finally:
            self._done(scope, path, status_box[0], key_id, time.perf_counter() - t0)

    def _done(self, scope: Scope, path: str, status: int, key_id: str, dt: float) -> None:
        self.state.metrics.observe(route_label(path), scope.get("method", ""), status, dt)
        if self.state.settings.access_log:
            logger.info(
                '%s "%s %s" %d %.1fms key=%s', (scope.get("client") or ("-",))[0],
                scope.get("method"), path, status, dt * 1000, key_id,
            )  # fmt: skip

    async def _authorize(self, headers: dict[str, str], send: Send) -> tuple[int, str]:
        """Check the API key and the rate limit.

        Returns ``(0, key_id)`` when the request may proceed, else the status of the error
        response already sent and the key id (``"-"`` when unknown).
        """
        key = headers.get("x-api-key") or ""
        auth = headers.get("authorization", "")
        if not key and auth[:7].lower() == "bearer ":
            key = auth[7:].strip()
        if not key:
            await _json(
                send,
                401,
                {"error": "missing API key (Authorization: Bearer <key> or X-API-Key)"},
                [(b"www-authenticate", b"Bearer")],
            )
            return 401, "-"
        rec = self.state.verify_key(key)
        if rec is None:
            await _json(send, 401, {"error": "unknown API key"}, [(b"www-authenticate", b"Bearer")])
            return 401, "-"
        if rec.revoked:
            await _json(send, 403, {"error": "API key revoked"}, [])
            return 403, rec.key_id
        wait = self.state.limiter.acquire(rec.key_id)
        if wait > 0:
            await _json(
                send,
                429,
                {"error": "rate limit exceeded", "retry_after_s": round(wait, 3)},
                [(b"retry-after", self.state.limiter.retry_after(wait).encode())],
            )
            return 429, rec.key_id
        return 0, rec.key_id

    async def _fast_ip(self, scope: Scope, path: str, send: Send) -> tuple[int, str]:
        """``GET /v1/ip/{addr}`` end to end; returns (status, key id)."""
        st = self.state.settings
        headers: dict[str, str] = {}
        for k, v in scope.get("headers", ()):
            name = k.lower()
            if name in (b"authorization", b"x-api-key", b"content-length"):
                headers[name.decode("latin-1")] = v.decode("latin-1")
        key_id = "-"
        if st.auth:
            status, key_id = await self._authorize(headers, send)
            if status:
                return status, key_id
        try:
            clen = int(headers.get("content-length", "0") or 0)
        except ValueError:
            await _json(send, 400, {"error": "invalid Content-Length"}, [])
            return 400, key_id
        if clen > st.max_body_bytes:
            await _json(send, 413, {"error": f"request body over {st.max_body_bytes} bytes"}, [])
            return 413, key_id
        if not self.state.ready:
            await _json(send, 503, {"detail": "reference data is still loading"}, [])
            return 503, key_id
        try:
            status, body = self.state.lookup_one_bytes(path[len(_IP_PREFIX) :])
        except Exception:
            logger.exception("unexpected error")
            await _json(send, 500, {"error": "internal error"}, [])
            return 500, key_id
        await send({
            "type": "http.response.start", "status": status,
            "headers": [(b"content-type", _JSON), (b"content-length", str(len(body)).encode())],
        })  # fmt: skip
        await send({"type": "http.response.body", "body": body})
        return status, key_id

    @staticmethod
    async def _read_body(receive: Receive, send: Send, body: bytearray, limit: int) -> int:
        """Read the request body into ``body``; a non-zero status when it was answered."""
        more = True
        while more:
            msg = await receive()
            if msg["type"] == "http.disconnect":
                return 499
            body += msg.get("body", b"")
            more = bool(msg.get("more_body", False))
            if len(body) > limit:
                await _json(send, 413, {"error": f"request body over {limit} bytes"}, [])
                return 413
        return 0

    async def _guard(self, scope: Scope, receive: Receive, send: Send) -> str:
        st = self.state.settings
        path = scope.get("path", "")
        headers = {
            k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])
        }
        key_id = "-"
        if st.auth and not is_open(path, st.open_docs, st.open_metrics):
            status, key_id = await self._authorize(headers, send)
            if status:
                return key_id
        try:
            clen = int(headers.get("content-length", "0") or 0)
        except ValueError:
            await _json(send, 400, {"error": "invalid Content-Length"}, [])
            return key_id
        if clen > st.max_body_bytes:
            await _json(send, 413, {"error": f"request body over {st.max_body_bytes} bytes"}, [])
            return key_id
        body = bytearray()
        if scope.get("method") in ("POST", "PUT", "PATCH"):
            try:
                async with asyncio.timeout(st.body_timeout_s):  # a body trickling in: 408
                    status = await self._read_body(receive, send, body, st.max_body_bytes)
            except TimeoutError:
                await _json(
                    send, 408, {"error": f"request body not received in {st.body_timeout_s:g} s"},
                    [(b"connection", b"close")],
                )  # fmt: skip
                return key_id
            if status:
                return key_id
        replayed = [False]

        async def replay() -> Message:
            if not replayed[0]:
                replayed[0] = True
                return {"type": "http.request", "body": bytes(body), "more_body": False}
            return await receive()

        started = [False]

        async def tracking_send(msg: Message) -> None:
            if msg["type"] == "http.response.start":
                started[0] = True
            await send(msg)

        try:
            async with asyncio.timeout(st.request_timeout_s):
                await self.app(scope, replay, tracking_send)
        except TimeoutError:
            if not started[0]:
                await _json(
                    send, 504, {"error": f"request took longer than {st.request_timeout_s:g} s"}, []
                )
        return key_id
