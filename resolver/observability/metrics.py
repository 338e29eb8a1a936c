"""Every metric the service exports, in one registry per app, and the use case's `Observer`.

Names and units follow Prometheus's conventions (`_total` counters, `_seconds` histograms, base
units); HTTP requests follow OpenTelemetry's semantic conventions (`http.server.request.duration`
with its recommended buckets). Every label takes a bounded set of values: a back end is a
provider's configured name, never a coupon, a campaign or a client.

With several worker processes, prometheus_client's multiprocess mode keeps each process's values
in memory-mapped files under `PROMETHEUS_MULTIPROC_DIR`, and whoever serves them adds them up
(`resolver.observability.exposition`). Nothing here needs to know which mode is on.

The hot path only touches label children cached here (`labels()` takes a lock and builds a
tuple each time), so recording a redemption's metrics costs a few microseconds.
"""

from __future__ import annotations

import platform
from importlib.metadata import version
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

if TYPE_CHECKING:
    from resolver.domain.redemptions import Redemption
    from resolver.redemption.observer import ClaimWait, ReadBack

# OpenTelemetry's advice for http.server.request.duration (and the client's), in seconds.
HTTP_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1.0, 2.5, 5.0, 7.5, 10.0)
# The ways of refusing a request before any claim.
REFUSALS = ("rate_limited_client", "rate_limited_coupon", "locked_out")


class Metrics:
    """The service's metrics in `registry`; also the use case's `Observer`."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.registry = registry or CollectorRegistry(auto_describe=True)
        r = self.registry
        self.http_duration = Histogram(
            "http_server_request_duration_seconds",
            "Duration of HTTP server requests, by route template, method and status.",
            ["http_request_method", "http_route", "http_response_status_code"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.redemptions = Counter(
            "resolver_redemptions",
            "Redemptions answered, by back end and outcome (replayed: answered from Redis).",
            ["backend", "outcome", "replayed"],
            registry=r,
        )
        self.upstream_requests = Counter(
            "resolver_upstream_requests",
            "Calls to a back end (lookup, offer, redeem), by result.",
            ["backend", "operation", "result"],
            registry=r,
        )
        self.upstream_duration = Histogram(
            "resolver_upstream_request_duration_seconds",
            "Duration of calls to a back end, whatever their result.",
            ["backend", "operation"],
            buckets=HTTP_BUCKETS,
            registry=r,
        )
        self.claim_waits = Counter(
            "resolver_claim_waits",
            "Requests that met another attempt in flight and waited: how the wait ended.",
            ["backend", "ended"],
            registry=r,
        )
        self.read_backs = Counter(
            "resolver_read_backs",
            "Coupons read back to settle a possible redemption, by whether the read worked.",
            ["backend", "result"],
            registry=r,
        )
        self.doubts = Counter(
            "resolver_doubts_left_unknown",
            "Attempts recorded as unknown: the next request for the coupon reads it back first.",
            ["backend"],
            registry=r,
        )
        self.redis_errors = Counter(
            "resolver_redis_errors",
            "Redis commands that failed, by redis-py's exception.",
            ["error"],
            registry=r,
        )
        self.unavailable = Counter(
            "resolver_unavailable_answers",
            "Answers refusing to act because Redis was unreachable (503 unavailable).",
            registry=r,
        )
        self.refusals = Counter(
            "resolver_refusals",
            "Requests refused before any claim: rate limits per client or coupon, staff lockouts.",
            ["reason"],
            registry=r,
        )
        self.verifications = Counter(
            "resolver_staff_verifications",
            "Staff codes checked (or missing) at the counter, by method and result.",
            ["method", "result"],
            registry=r,
        )
        build = Gauge(
            "resolver_build_info",
            "Always 1; the running version in its labels.",
            ["version", "python_version"],
            multiprocess_mode="max",
            registry=r,
        )
        build.labels(version("resolver"), platform.python_version()).set(1)
        # Label children by (the metric's id, its label values): they live as long as `self`.
        self._counters: dict[tuple[object, ...], Counter] = {}
        self._histograms: dict[tuple[object, ...], Histogram] = {}
        for reason in REFUSALS:  # present from the start, so that alerts see their rises
            self.refusals.labels(reason)

    def _counter(self, metric: Counter, *labels: str) -> Counter:
        key = (id(metric), *labels)
        child = self._counters.get(key)
        if child is None:
            child = self._counters[key] = metric.labels(*labels)
        return child

    def _histogram(self, metric: Histogram, *labels: str) -> Histogram:
        key = (id(metric), *labels)
        child = self._histograms.get(key)
        if child is None:
            child = self._histograms[key] = metric.labels(*labels)
        return child

    # --- the HTTP layer ------------------------------------------------------------------

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        self._histogram(self.http_duration, method, route, str(status)).observe(seconds)

    def refused(self, reason: str) -> None:
        self._counter(self.refusals, reason).inc()

    def verification(self, method: str, result: str) -> None:
        self._counter(self.verifications, method, result).inc()

    def unavailable_answer(self) -> None:
        self.unavailable.inc()

    # --- the adapters --------------------------------------------------------------------

    def upstream(self, backend: str, operation: str, result: str, seconds: float) -> None:
        self._counter(self.upstream_requests, backend, operation, result).inc()
        self._histogram(self.upstream_duration, backend, operation).observe(seconds)

    def redis_error(self, error: str) -> None:
        self._counter(self.redis_errors, error).inc()

    # --- the use case's Observer ---------------------------------------------------------

    def redeemed(self, backend: str, result: Redemption) -> None:
        replayed = "true" if result.replayed else "false"
        self._counter(self.redemptions, backend, result.outcome.value, replayed).inc()

    def waited(self, backend: str, ended: ClaimWait) -> None:
        self._counter(self.claim_waits, backend, ended).inc()

    def read_back(self, backend: str, result: ReadBack) -> None:
        self._counter(self.read_backs, backend, result).inc()

    def doubt_left(self, backend: str) -> None:
        self._counter(self.doubts, backend).inc()
