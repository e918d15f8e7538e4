"""uvicorn's httptools protocol with a request-header read timeout (slowloris guard).

uvicorn times out idle keep-alive connections, but not a client that opens a connection and
then sends its request line and headers a byte at a time: each such connection is held
forever. This protocol closes a connection whose request headers are not complete within
``header_timeout_s`` (:class:`~attrib.api.settings.ServiceSettings`) of the connection opening
or of the first byte of the request. Bodies are bounded by the guard middleware's own
timeout, and connections in total by uvicorn's ``limit_concurrency``.
"""

from __future__ import annotations

import asyncio
import logging
from functools import cache
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

__all__ = ["TimedHttpToolsProtocol"]

logger = logging.getLogger(__name__)


@cache
def _header_timeout_s() -> float:
    from attrib.api.settings import ServiceSettings

    return float(ServiceSettings().header_timeout_s)


class TimedHttpToolsProtocol(HttpToolsProtocol):
    """:class:`HttpToolsProtocol` that closes connections slow to send request headers."""

    _header_timer: asyncio.TimerHandle | None = None

    def connection_made(self, transport: Any) -> None:
        """Start the header timer when a connection opens."""
        super().connection_made(transport)
        self._arm()

    def connection_lost(self, exc: Exception | None) -> None:
        """Stop the timer when the connection goes."""
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        """Restart the header timer for the next request on a kept-alive connection."""
        super().on_message_begin()
        self._arm()

    def on_headers_complete(self) -> None:
        """Headers arrived in time: stop the timer."""
        self._disarm()
        super().on_headers_complete()

    def _arm(self) -> None:
        self._disarm()
        self._header_timer = self.loop.call_later(_header_timeout_s(), self._header_timeout)

    def _disarm(self) -> None:
        if self._header_timer is not None:
            self._header_timer.cancel()
            self._header_timer = None

    def _header_timeout(self) -> None:
        self._header_timer = None
        if not self.transport.is_closing():
            logger.info("closing a connection: request headers not complete in time")
            self.transport.close()
