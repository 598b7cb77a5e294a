"""Span files exactly as the OpenTelemetry Collector's file exporter writes them, from our JSONL span dicts.

No Docker here, so no Collector: this writer follows what its source says (read, not copied):

- OTLP/JSON, open-telemetry/opentelemetry-collector ``pdata/internal/generated_proto_span.go``,
  ``_status.go``, ``_resourcespans.go``, ``_scopespans.go``, ``_instrumentationscope.go``,
  ``_keyvalue.go``, ``_anyvalue.go``, ``_arrayvalue.go``, ``json/stream.go``, ``traceid.go``,
  ``spanid.go``: fields in proto order, compact; zero and empty fields left out (a root's
  ``parentSpanId``, ``kind`` 0, ``status.code`` 0) but ``resource``, ``scope`` and ``status`` always
  written; ids as lower-case hex; 64-bit integers (times, ``intValue``) as strings, 32-bit ones
  (``flags``, ``kind``, ``code``, ``droppedAttributesCount``) as numbers; NaN and infinities as strings.
- Framing, open-telemetry/opentelemetry-collector-contrib ``exporter/fileexporter``: ``file_writer.go``
  (a batch and ``\\n`` per write for ``format: json``; else a 4-byte big-endian length, then the
  record), ``marshaller.go`` and the zstd compressor (``compression: zstd``: each record one whole
  zstd frame), ``compression_writer.go`` (feature gate ``exporter.file.nativeCompression``: JSON lines
  in a zstd stream, one frame per write when rotating), ``README.md`` and ``factory.go`` (rotation:
  the full file renamed ``name-<time>.ext`` by lumberjack, ``name-<time>-<reason>.ext`` by timberjack
  (DeRuina/timberjack ``timberjack.go`` ``backupName``), a new file at ``path``; a write never split),
  ``grouping_file_exporter.go`` (``group_by``: one file per resource attribute value, ``*`` in
  ``path`` replaced by it).
- A batch (the ``batch`` processor's output) holds spans of several traces; the exporter groups them
  by resource, then by instrumentation scope. :func:`arrival_order` and :func:`scoped` make the agent
  scope (which holds roots) come first, so a root can arrive before its calls or in a later batch.
"""

from __future__ import annotations

import base64
import json
import math
import os
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import zstandard
from report_spans import agent_trace, known_calls

SCHEMA_URL = "https://opentelemetry.io/schemas/1.26.0"
AGENT_SCOPE = "otel_llm_cost.agent"
KIND = {"INTERNAL": 1, "SERVER": 2, "CLIENT": 3}
# W3C sampled, plus OTLP's SPAN_FLAGS_CONTEXT_HAS_IS_REMOTE bit (the parent is known to be local).
FLAGS = 0x100 | 0x01


def collector_spans() -> list[dict[str, Any]]:
    """Agent runs of two agents (overlapping each other, 50 minutes in) and 100 plain calls (one a minute),
    as two services, in the order their spans end (the order a batch processor receives them)."""
    spans = []
    for t in range(1, 25):
        run = agent_trace(t, start_s=3000 + t * 1.3, agent="travel-helper" if t % 3 else "planner")
        for s in run:
            s["resource"] = {"service.name": "agents", "deployment.environment.name": "test"}
            s["scope"] = {"name": _scope(s), "version": "0.9.0"}
        spans += run
    for s in known_calls():
        s["scope"] = {"name": "openai", "version": "1.99.0"}
        spans.append(s)
    return sorted(spans, key=lambda s: s["end_time_unix_nano"])


def _scope(s: dict[str, Any]) -> str:
    attributes = s["attributes"]
    if attributes.get("gen_ai.operation.name") == "invoke_agent" or "llm_cost.step.name" in attributes:
        return AGENT_SCOPE
    if s["name"] == "framework wrapper":
        return "framework"
    return "anthropic" if attributes.get("gen_ai.provider.name") == "anthropic" else "openai"


def any_value(value: Any) -> dict[str, Any]:
    """A plain value as pdata's JSON marshaler writes an ``AnyValue``."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        if math.isnan(value):
            return {"doubleValue": "NaN"}
        if math.isinf(value):
            return {"doubleValue": "Infinity" if value > 0 else "-Infinity"}
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [any_value(v) for v in value]} if value else {}}
    if isinstance(value, dict):
        return {"kvlistValue": {"values": key_values(value)} if value else {}}
    return {"stringValue": str(value)}


def key_values(attributes: dict[str, Any]) -> list[dict[str, Any]]:
    return [{"key": k, "value": any_value(v)} for k, v in attributes.items()]


def pdata_span(s: dict[str, Any]) -> dict[str, Any]:
    """One span of our JSONL as the Collector's JSON marshaler writes it, fields in its order."""
    out: dict[str, Any] = {"traceId": s["trace_id"], "spanId": s["span_id"]}
    if s["parent_span_id"]:
        out["parentSpanId"] = s["parent_span_id"]
    out["flags"] = FLAGS
    out["name"] = s["name"]
    out["kind"] = KIND[s["kind"]]
    out["startTimeUnixNano"] = str(s["start_time_unix_nano"])
    out["endTimeUnixNano"] = str(s["end_time_unix_nano"])
    if s["attributes"]:
        out["attributes"] = key_values(s["attributes"])
    if len(s["attributes"]) > 12:
        out["droppedAttributesCount"] = 2  # as if the SDK's limits had dropped some
    if s["status"]["code"] == "ERROR":
        out["events"] = [
            {
                "timeUnixNano": str(s["end_time_unix_nano"]),
                "name": "exception",
                "attributes": key_values({"exception.type": "APIError"}),
            }
        ]
        out["status"] = {"message": "boom", "code": 2}
    else:
        out["status"] = {}
    return out


def scoped(batch: list[dict[str, Any]]) -> dict[str, Any]:
    """One ``ExportTraceServiceRequest``: spans grouped by resource, then by scope, the agent scope first."""
    resources: dict[str, dict[str, list[dict[str, Any]]]] = {}
    resource_attrs: dict[str, dict[str, Any]] = {}
    scopes: dict[str, dict[str, Any]] = {}
    for s in batch:
        key = json.dumps(s["resource"], sort_keys=True)
        resource_attrs[key] = s["resource"]
        scopes[s["scope"]["name"]] = s["scope"]
        resources.setdefault(key, {}).setdefault(s["scope"]["name"], []).append(pdata_span(s))
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": key_values(resource_attrs[key])},
                "scopeSpans": [
                    {
                        "scope": {"name": name, "version": scopes[name]["version"]},
                        "spans": by_scope[name],
                        "schemaUrl": SCHEMA_URL,
                    }
                    for name in sorted(by_scope, key=lambda n: (n != AGENT_SCOPE, n))
                ],
                "schemaUrl": SCHEMA_URL,
            }
            for key, by_scope in resources.items()
        ]
    }


def batches(spans: list[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    for i in range(0, len(spans), size):
        yield spans[i : i + size]


def to_json(request: dict[str, Any]) -> bytes:
    return json.dumps(request, separators=(",", ":"), ensure_ascii=False).encode()


def to_proto(request: dict[str, Any]) -> bytes:
    """The binary OTLP of ``request`` (the protobuf library's JSON mapping wants base64 ids)."""
    from google.protobuf.json_format import ParseDict
    from opentelemetry.proto.trace.v1.trace_pb2 import TracesData

    def b64(value: str) -> str:
        return base64.b64encode(bytes.fromhex(value)).decode()

    copy = json.loads(json.dumps(request))
    for resource in copy["resourceSpans"]:
        for scope in resource["scopeSpans"]:
            for span in scope["spans"]:
                for name in ("traceId", "spanId", "parentSpanId"):
                    if name in span:
                        span[name] = b64(span[name])
    return ParseDict(copy, TracesData()).SerializeToString()


@dataclass
class FileExporter:
    """The contrib file exporter's write path, for traces.

    Args:
        path: where to write; with ``group_by``, holds one ``*``.
        format: ``json`` or ``proto``.
        compression: ``None`` or ``zstd``.
        native_zstd: the ``exporter.file.nativeCompression`` feature gate.
        max_bytes: rotate before a write that would pass this size (``rotation.max_megabytes``).
        backup_reason: ``None`` for lumberjack's backup names, else timberjack's reason (``size``).
        group_by: a resource attribute: one file per value.
    """

    path: Path
    format: str = "json"
    compression: str | None = None
    native_zstd: bool = False
    max_bytes: int | None = None
    backup_reason: str | None = None
    group_by: str | None = None
    clock: datetime = datetime(2025, 6, 15, 15, 6, 40, 123000, tzinfo=UTC)
    _open_frames: dict[Path, Any] = field(default_factory=dict)

    def export(self, batch: list[dict[str, Any]]) -> None:
        if self.group_by is None:
            self._write(self.path, scoped(batch))
            return
        groups: dict[str, list[dict[str, Any]]] = {}
        for s in batch:  # spans without the attribute are dropped, as upstream does
            if isinstance(s["resource"].get(self.group_by), str):
                groups.setdefault(s["resource"][self.group_by], []).append(s)
        for segment, spans in groups.items():
            self._write(Path(str(self.path).replace("*", segment)), scoped(spans))

    def export_all(self, spans: list[dict[str, Any]], batch_size: int) -> None:
        for batch in batches(spans, batch_size):
            self.export(batch)
        self.shutdown()

    def shutdown(self) -> None:
        for path, frame in self._open_frames.items():
            with open(path, "ab") as out:
                out.write(frame.flush(zstandard.COMPRESSOBJ_FLUSH_FINISH))
        self._open_frames.clear()

    def _write(self, path: Path, request: dict[str, Any]) -> None:
        payload = to_json(request) if self.format == "json" else to_proto(request)
        data = self._frame(payload)
        path.parent.mkdir(parents=True, exist_ok=True)
        if self.native_zstd and self.max_bytes is None:  # one stream, finished at shutdown
            frame = self._open_frames.setdefault(path, zstandard.ZstdCompressor().compressobj())
            data = frame.compress(data)
        elif self.native_zstd:
            data = zstandard.ZstdCompressor().compress(data)  # a whole frame per write
        self._rotate_before(path, len(data))
        with open(path, "ab") as out:
            out.write(data)

    def _frame(self, payload: bytes) -> bytes:
        if self.native_zstd:
            return payload + b"\n" if self.format == "json" else _length_prefixed(payload)
        if self.compression == "zstd":
            return _length_prefixed(zstandard.ZstdCompressor(write_content_size=True).compress(payload))
        return payload + b"\n" if self.format == "json" else _length_prefixed(payload)

    def _rotate_before(self, path: Path, size: int) -> None:
        if self.max_bytes is None or not path.exists():
            return
        current = path.stat().st_size
        if current and current + size > self.max_bytes:
            self.clock += timedelta(seconds=61)
            stamp = self.clock.strftime("%Y-%m-%dT%H-%M-%S.") + f"{self.clock.microsecond // 1000:03d}"
            reason = f"-{self.backup_reason}" if self.backup_reason else ""
            os.rename(path, path.with_name(f"{path.stem}-{stamp}{reason}{path.suffix}"))


def _length_prefixed(record: bytes) -> bytes:
    return len(record).to_bytes(4, "big") + record


def records(path: Path) -> list[dict[str, Any]]:
    """The OTLP/JSON requests of a plain JSON-lines file (to check what the writer produced)."""
    return [json.loads(line) for line in path.read_text().splitlines()]


def spans_of(requests: Iterable[dict[str, Any]]) -> Iterator[dict[str, Any]]:
    for request in requests:
        for resource in request["resourceSpans"]:
            for scope in resource["scopeSpans"]:
                yield from scope["spans"]
