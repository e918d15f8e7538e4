"""Per-key token-bucket rate limiting (per worker process)."""

from __future__ import annotations

import math
import threading
import time

__all__ = ["RateLimiter"]


class RateLimiter:
    """A token bucket per key.

    Parameters
    ----------
    rate
        Tokens added per second.
    burst
        Bucket capacity.
    """

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = float(rate)
        self.burst = float(burst)
        self._buckets: dict[str, tuple[float, float]] = {}
        self._lock = threading.Lock()

    def acquire(self, key: str, now: float | None = None) -> float:
        """Take one token for ``key``.

        Parameters
        ----------
        key
            Who is asking (the API key id).
        now
            Monotonic time; default ``time.monotonic()``.

        Returns
        -------
        float
            0 when allowed, else the seconds to wait before retrying.
        """
        t = time.monotonic() if now is None else now
        with self._lock:
            tokens, last = self._buckets.get(key, (self.burst, t))
            tokens = min(self.burst, tokens + (t - last) * self.rate)
            if tokens >= 1.0:
                self._buckets[key] = (tokens - 1.0, t)
                return 0.0
            self._buckets[key] = (tokens, t)
            return (1.0 - tokens) / self.rate

    @staticmethod
    def retry_after(wait: float) -> str:
        """``Retry-After`` header value (whole seconds, at least 1).

        Parameters
        ----------
        wait
            Seconds to wait.

        Returns
        -------
        str
            The header value.
        """
        return str(max(1, math.ceil(wait)))
