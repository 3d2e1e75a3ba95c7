"""Metrics for Prometheus (served at /metrics), traces for OpenTelemetry, and structured logs.

The counters and histograms live in one registry of this process — or, under `fmstack serve
--workers N`, in files every server process writes (prometheus_client's multiprocess mode, chosen
by PROMETHEUS_MULTIPROC_DIR before the processes start), so that any process answers a scrape with
the whole server's counts. What is a state rather than an event (requests waiting for a model, jobs
per status) is read when scraped (`FmstackCollector`)."""

from __future__ import annotations

import json
import logging
import os
import time
from collections.abc import Iterator
from typing import TYPE_CHECKING

from opentelemetry import trace
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, multiprocess
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from .errors import ConfigError

if TYPE_CHECKING:
    from .sdk import Fmstack

REGISTRY = CollectorRegistry(auto_describe=True)
# Spans of a turn's stages (prepare, input guardrail, retrieval, model, each guardrail check): no-ops
# until an exporter is configured (configure_tracing).
tracer = trace.get_tracer("fmstack")

REQUESTS = Counter(
    "fmstack_http_requests",
    "HTTP requests by route template, method and status",
    ["route", "method", "status"],
    registry=REGISTRY,
)
LATENCY = Histogram(
    "fmstack_http_request_seconds",
    "Time to the end of the response (streams included)",
    ["route", "method"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120),
    registry=REGISTRY,
)
TOKENS = Counter("fmstack_tokens", "Tokens used by model calls", ["model", "kind"], registry=REGISTRY)
GUARDRAIL_ACTIONS = Counter(
    "fmstack_guardrail_actions", "Guardrail checks by outcome", ["guardrail", "source", "action"], registry=REGISTRY
)
ERRORS = Counter("fmstack_errors", "Errors answered to callers, by type and code", ["type", "code"], registry=REGISTRY)


def exposition(collector: Collector | None) -> bytes:
    """The text a scrape gets: this process's registry, or every server process's counts."""
    if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        return generate_latest(REGISTRY)
    registry = CollectorRegistry()
    multiprocess.MultiProcessCollector(registry)
    if collector is not None:
        registry.register(collector)
    return generate_latest(registry)


class FmstackCollector(Collector):
    """Read at scrape time: requests in flight or queued per local model, and jobs per status."""

    def __init__(self, fm: Fmstack):
        self.fm = fm

    def collect(self) -> Iterator[Metric]:
        queue = GaugeMetricFamily(
            "fmstack_model_queue_depth", "Requests holding or waiting for a local model", labels=["model"]
        )
        for name, state in self.fm.models.status().items():
            if state.get("in_flight") is not None:
                queue.add_metric([name], float(state["in_flight"]))
        yield queue
        jobs = GaugeMetricFamily("fmstack_jobs", "Background jobs by kind and status", labels=["kind", "status"])
        for (kind, status), n in self.fm.jobs.counts().items():
            jobs.add_metric([kind, status], float(n))
        yield jobs


def configure_tracing(env: dict[str, str] | None = None) -> bool:
    """Send traces over OTLP/HTTP when OTEL_EXPORTER_OTLP_ENDPOINT (or ..._TRACES_ENDPOINT) is set,
    the exporter reading the other standard OTEL_* variables; whether tracing is on."""
    env = dict(os.environ if env is None else env)
    if not (env.get("OTEL_EXPORTER_OTLP_ENDPOINT") or env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")):
        return False
    try:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor
    except ImportError:
        raise ConfigError(
            "OTEL_EXPORTER_OTLP_ENDPOINT is set but the OpenTelemetry SDK is not installed: pip install 'fmstack[otel]'"
        ) from None
    provider = TracerProvider(resource=Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "fmstack")}))
    provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter()))
    trace.set_tracer_provider(provider)
    return True


class JsonFormatter(logging.Formatter):
    """One JSON object per log line (FMSTACK_LOG_FORMAT=json): time, level, logger, message, and
    any `extra=` fields."""

    _skip = set(vars(logging.makeLogRecord({}))) | {"message", "asctime", "color_message"}

    def format(self, record: logging.LogRecord) -> str:
        out = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created)) + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        out.update({k: v for k, v in vars(record).items() if k not in self._skip})
        if record.exc_info:
            out["exception"] = self.formatException(record.exc_info)
        return json.dumps(out, default=str, ensure_ascii=False)


def json_logging(level: str = "info") -> dict:
    """A logging dictConfig (for uvicorn's log_config) that writes every logger as JSON lines."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"json": {"()": JsonFormatter}},
        "handlers": {"stderr": {"class": "logging.StreamHandler", "formatter": "json", "stream": "ext://sys.stderr"}},
        "root": {"handlers": ["stderr"], "level": level.upper()},
        "loggers": {
            name: {"handlers": ["stderr"], "level": level.upper(), "propagate": False}
            for name in ("uvicorn", "uvicorn.error", "uvicorn.access", "fmstack")
        },
    }
