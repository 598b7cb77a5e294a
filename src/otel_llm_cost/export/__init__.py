"""Exporters of our own: JSON lines for the embedded default and the report command."""

from otel_llm_cost.export.jsonl import DEFAULT_JSONL_PATH, SCHEMA, JsonlSpanExporter, encode_span

__all__ = ["DEFAULT_JSONL_PATH", "SCHEMA", "JsonlSpanExporter", "encode_span"]
