"""Prometheus metrics: requests by route template and status, latency, in-flight.

A registry per app (not the process-global one) so several apps in one test
process never collide, and labels use the route template (`/v1/identities/{id}`)
so cardinality stays bounded whatever ids clients send.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from fastapi import Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from starlette.types import ASGIApp, Receive, Scope, Send

if TYPE_CHECKING:
    from .state import ServiceState


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "clearsight_http_requests_total", "HTTP requests", ("method", "route", "status"), registry=self.registry
        )
        self.latency = Histogram(
            "clearsight_http_request_seconds",
            "HTTP request latency",
            ("method", "route"),
            buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
            registry=self.registry,
        )
        self.in_flight = Gauge("clearsight_http_in_flight", "requests being served", registry=self.registry)
        self.ready = Gauge("clearsight_ready", "1 when models are loaded", registry=self.registry)


def _route_template(scope: Scope) -> str:
    """The matched route's template, which the router records in the scope."""
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path + ("/{path}" if getattr(route, "app", None) is not None and not hasattr(route, "endpoint") else "")
    return "unmatched"


class MetricsMiddleware:
    def __init__(self, app: ASGIApp, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        status = {"code": 500}

        async def _send(message: dict) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
            await send(message)

        start = time.perf_counter()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, _send)
        finally:
            self.metrics.in_flight.dec()
            route = _route_template(scope)
            self.metrics.latency.labels(scope["method"], route).observe(time.perf_counter() - start)
            self.metrics.requests.labels(scope["method"], route, str(status["code"])).inc()


def metrics_endpoint(metrics: Metrics, state: ServiceState) -> Callable[[Request], Response]:
    def _metrics(request: Request) -> Response:
        metrics.ready.set(1 if state.ready.is_set() else 0)
        return Response(generate_latest(metrics.registry), media_type=CONTENT_TYPE_LATEST)

    return _metrics
