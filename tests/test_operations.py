"""Operations: OpenTelemetry traces of a turn's stages (in process: the span tree of a grounded
answer; from `fmstack serve` to an OTLP/HTTP collector on loopback) and JSON logs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
from conftest import TEST_CONFIG, Server, free_port


def test_a_grounded_answer_is_traced_stage_by_stage(fm):
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)  # once per process; fmstack's tracer follows the global provider
    fm.knowledge.create("traced")
    fm.knowledge.ingest_bytes("traced", "owls.md", b"# Owls\n\nBarn owls hunt small mammals at night.")
    fm.guardrails.create({"name": "traced-words", "words": {"words": ["Project Falcon"]}})
    answer = fm.ask_kb(
        "traced",
        "What do barn owls hunt?",
        answer_mode="generate",
        abstain_threshold=0,  # the model answers whatever the passages say
        guardrail="traced-words",
        max_tokens=16,
    )
    assert answer.text and answer.mode == "generate"
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert {"fmstack.prepare", "fmstack.retrieve", "fmstack.guardrail", "fmstack.model"} <= set(spans)
    prepare, retrieve = spans["fmstack.prepare"], spans["fmstack.retrieve"]
    assert retrieve.parent is not None and retrieve.parent.span_id == prepare.context.span_id
    assert retrieve.attributes["fmstack.knowledge_base"] == "traced" and retrieve.attributes["fmstack.passages"] >= 1
    assert prepare.attributes["fmstack.answer_mode"] == "generate"
    model = spans["fmstack.model"]
    assert model.attributes["fmstack.completion_tokens"] > 0 and model.attributes["fmstack.finish_reason"]
    checks = [s for s in exporter.get_finished_spans() if s.name == "fmstack.guardrail"]
    assert {s.attributes["fmstack.source"] for s in checks} >= {"input", "output"}


class _Collector(BaseHTTPRequestHandler):
    received: list[tuple[str, bytes]] = []

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("content-length") or 0))
        _Collector.received.append((self.path, body))
        self.send_response(200)
        self.send_header("content-type", "application/x-protobuf")
        self.end_headers()

    def log_message(self, *args):
        pass


def test_the_server_exports_spans_over_otlp_http(tmp_path):
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    collector = ThreadingHTTPServer(("127.0.0.1", 0), _Collector)
    threading.Thread(target=collector.serve_forever, daemon=True).start()
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": f"http://127.0.0.1:{collector.server_address[1]}",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OTEL_SERVICE_NAME": "fmstack-test",
    }
    srv = Server(tmp_path / "traced", TEST_CONFIG, env=env).start()
    try:
        r = httpx.post(
            f"{srv.url}/v1/chat/completions",
            json={"model": "default", "messages": [{"role": "user", "content": "Hi"}], "max_tokens": 4},
            timeout=60,
        )
        assert r.status_code == 200
        names: set[str] = set()
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline and "fmstack.model" not in names:
            for path, body in list(_Collector.received):
                assert path == "/v1/traces"
                request = ExportTraceServiceRequest.FromString(body)
                for rs in request.resource_spans:
                    service = {a.key: a.value.string_value for a in rs.resource.attributes}["service.name"]
                    assert service == "fmstack-test"
                    names |= {span.name for ss in rs.scope_spans for span in ss.spans}
            time.sleep(0.1)
        assert {"fmstack.prepare", "fmstack.model"} <= names
    finally:
        srv.stop()
        collector.shutdown()


def test_json_logs_one_object_per_line(tmp_path):
    env = {**os.environ, "FMSTACK_DATA_DIR": str(tmp_path), "FMSTACK_LOG_FORMAT": "json"}
    env.pop("FMSTACK_API_KEYS", None)
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "fmstack", "serve", "--port", str(port), "--log-level", "info"],
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/api/conversations/nope", timeout=2).status_code == 404:
                    break
            except httpx.HTTPError:
                time.sleep(0.2)
    finally:
        proc.terminate()
        _, err = proc.communicate(timeout=20)
    records = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert records and all({"time", "level", "logger", "message"} <= set(r) for r in records)
    access = [r for r in records if r["logger"] == "uvicorn.access"]
    assert any("/api/conversations/nope" in r["message"] and "404" in r["message"] for r in access)
    assert "color_message" not in records[0]
