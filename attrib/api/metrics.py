"""Prometheus text-format metrics: request counts and latency histograms per route."""

from __future__ import annotations

import threading
from collections import defaultdict

__all__ = ["Metrics"]

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


def _esc(v: str) -> str:
    return v.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


class Metrics:
    """Counters and histograms kept in process memory (one set per worker)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.requests: defaultdict[tuple[str, str, int], int] = defaultdict(int)
        self.hist: defaultdict[str, list[int]] = defaultdict(lambda: [0] * (len(_BUCKETS) + 1))
        self.hist_sum: defaultdict[str, float] = defaultdict(float)
        self.cache_hits = 0
        self.cache_misses = 0
        self.info: dict[str, str] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Record one request.

        Parameters
        ----------
        route
            Route template, e.g. ``/v1/ip/{ip}``.
        method
            HTTP method.
        status
            Response status code.
        seconds
            Wall time of the request.
        """
        with self._lock:
            self.requests[(route, method, status)] += 1
            h = self.hist[route]
            for i, b in enumerate(_BUCKETS):
                if seconds <= b:
                    h[i] += 1
                    break
            else:
                h[-1] += 1
            self.hist_sum[route] += seconds

    def render(self) -> str:
        """Render all metrics in the Prometheus text exposition format.

        Returns
        -------
        str
            The exposition text.
        """
        out = [
            "# HELP attrib_http_requests_total HTTP requests by route, method and status.",
            "# TYPE attrib_http_requests_total counter",
        ]
        with self._lock:
            for (route, method, status), n in sorted(self.requests.items()):
                out.append(
                    f'attrib_http_requests_total{{route="{_esc(route)}",method="{method}",'
                    f'status="{status}"}} {n}'
                )
            out += [
                "# HELP attrib_http_request_duration_seconds Request latency by route.",
                "# TYPE attrib_http_request_duration_seconds histogram",
            ]
            for route, h in sorted(self.hist.items()):
                cum = 0
                r = _esc(route)
                for b, n in zip(_BUCKETS, h, strict=False):
                    cum += n
                    out.append(
                        f'attrib_http_request_duration_seconds_bucket{{route="{r}",le="{b}"}} {cum}'
                    )
                cum += h[-1]
                out.append(
                    f'attrib_http_request_duration_seconds_bucket{{route="{r}",le="+Inf"}} {cum}'
                )
                total = self.hist_sum[route]
                out.append(f'attrib_http_request_duration_seconds_sum{{route="{r}"}} {total:.6f}')
                out.append(f'attrib_http_request_duration_seconds_count{{route="{r}"}} {cum}')
            out += [
                "# HELP attrib_lookup_cache_hits_total Single-address lookups answered from cache.",
                "# TYPE attrib_lookup_cache_hits_total counter",
                f"attrib_lookup_cache_hits_total {self.cache_hits}",
                "# HELP attrib_lookup_cache_misses_total Single-address lookups computed.",
                "# TYPE attrib_lookup_cache_misses_total counter",
                f"attrib_lookup_cache_misses_total {self.cache_misses}",
                "# HELP attrib_info Versions of the code, reference data and model in use.",
                "# TYPE attrib_info gauge",
            ]
            labels = ",".join(f'{k}="{_esc(v)}"' for k, v in sorted(self.info.items()))
            out.append(f"attrib_info{{{labels}}} 1")
        return "\n".join(out) + "\n"
