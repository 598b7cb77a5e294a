"""Span files for the report tests: our JSONL schema and the Collector's OTLP/JSON, with known figures."""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterable
from decimal import Decimal
from pathlib import Path
from typing import Any

T0 = 1_750_000_000 * 1_000_000_000  # 2025-06-15T15:06:40Z
NS = 1_000_000_000


def span(
    trace: int,
    sid: int,
    parent: int | None = None,
    *,
    name: str = "span",
    start_s: float = 0.0,
    duration_s: float = 1.0,
    attributes: dict[str, Any] | None = None,
    error: bool = False,
    service: str = "svc",
) -> dict[str, Any]:
    """One span in our JSONL schema; ids are numbers turned into hex, times seconds after ``T0``."""
    start = T0 + round(start_s * NS)
    return {
        "schema": "otel-llm-cost/span/v1",
        "trace_id": f"{trace:032x}",
        "span_id": f"{sid:016x}",
        "parent_span_id": None if parent is None else f"{parent:016x}",
        "name": name,
        "kind": "CLIENT" if attributes and "gen_ai.usage.input_tokens" in attributes else "INTERNAL",
        "start_time_unix_nano": start,
        "end_time_unix_nano": start + round(duration_s * NS),
        "status": {"code": "ERROR" if error else "UNSET", "description": None},
        "attributes": attributes or {},
        "events": [],
        "resource": {"service.name": service},
        "scope": {"name": "tests", "version": None},
    }


def llm(
    trace: int,
    sid: int,
    parent: int | None = None,
    *,
    model: str = "gpt-4o-mini",
    provider: str = "openai",
    input_tokens: int = 100,
    output_tokens: int = 10,
    cache_read: int = 0,
    cost: str | None = "0.001",
    ttft: float | None = None,
    response_id: str | None = None,
    extra: dict[str, Any] | None = None,
    **kwargs: Any,
) -> dict[str, Any]:
    """An LLM call span as our instrumentation writes it (``cost=None``: unpriced)."""
    attributes: dict[str, Any] = {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": provider,
        "gen_ai.request.model": model,
        "gen_ai.response.model": model,
        "gen_ai.usage.input_tokens": input_tokens,
        "gen_ai.usage.output_tokens": output_tokens,
        "gen_ai.usage.cost.currency": "USD",
        "gen_ai.usage.cost.source": "local",
    }
    if cache_read:
        attributes["gen_ai.usage.cache_read.input_tokens"] = cache_read
    if cost is None:
        attributes["llm_cost.cost.status"] = "unpriced"
    else:
        attributes["llm_cost.cost.status"] = "priced"
        attributes["gen_ai.usage.cost.amount"] = float(Decimal(cost))
    if ttft is not None:
        attributes["gen_ai.response.time_to_first_chunk"] = ttft
    if response_id is not None:
        attributes["gen_ai.response.id"] = response_id
    attributes.update(extra or {})
    return span(trace, sid, parent, name=f"chat {model}", attributes=attributes, **kwargs)


def step(
    trace: int, sid: int, parent: int | None, name: str, agent: str | None = None, **kwargs: Any
) -> dict:
    """An agent step span (``llm_cost.span.type=agent_step``), optionally naming its agent."""
    attributes = {"llm_cost.span.type": "agent_step", "llm_cost.step.name": name}
    if agent:
        attributes["gen_ai.agent.name"] = agent
    attributes.update(kwargs.pop("attributes", {}))
    return span(trace, sid, parent, name=f"step {name}", attributes=attributes, **kwargs)


def write_jsonl(path: Path, spans: Iterable[dict[str, Any]], compress: bool = False) -> Path:
    """Write spans one per line (gzip when ``compress``)."""
    text = "".join(json.dumps(s) + "\n" for s in spans)
    if compress:
        path.write_bytes(gzip.compress(text.encode()))
    else:
        path.write_text(text)
    return path


def otlp_value(value: Any) -> dict[str, Any]:
    """A plain value as an OTLP/JSON ``AnyValue`` (64-bit ints as strings, as the Collector writes)."""
    if isinstance(value, bool):
        return {"boolValue": value}
    if isinstance(value, int):
        return {"intValue": str(value)}
    if isinstance(value, float):
        return {"doubleValue": value}
    if isinstance(value, list | tuple):
        return {"arrayValue": {"values": [otlp_value(v) for v in value]}}
    return {"stringValue": str(value)}


def to_otlp(spans: list[dict[str, Any]]) -> dict[str, Any]:
    """Our spans as one OTLP/JSON ``TracesData`` object (one resource, one scope)."""

    def convert(s: dict[str, Any]) -> dict[str, Any]:
        out = {
            "traceId": s["trace_id"],
            "spanId": s["span_id"],
            "parentSpanId": s["parent_span_id"] or "",
            "name": s["name"],
            "kind": 3 if s["kind"] == "CLIENT" else 1,
            "startTimeUnixNano": str(s["start_time_unix_nano"]),
            "endTimeUnixNano": str(s["end_time_unix_nano"]),
            "attributes": [{"key": k, "value": otlp_value(v)} for k, v in s["attributes"].items()],
            "status": {"code": 2} if s["status"]["code"] == "ERROR" else {},
        }
        return out

    resource = spans[0]["resource"] if spans else {}
    return {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": k, "value": otlp_value(v)} for k, v in resource.items()]},
                "scopeSpans": [{"scope": {"name": "tests"}, "spans": [convert(s) for s in spans]}],
            }
        ]
    }


def known_calls() -> list[dict[str, Any]]:
    """100 calls, one per trace, durations 10 ms .. 1000 ms (p50 ~ 500 ms, p95 ~ 950 ms, p99 ~ 990 ms).

    Each: 1,000 input tokens (200 cache reads), 50 output; cost $0.0015 (gpt-4o-mini) or $0.015
    (gpt-4o, every 4th); every 10th call fails; every 20th (overlapping none of the 4ths) is unpriced.
    """
    spans = []
    for i in range(1, 101):
        model = "gpt-4o" if i % 4 == 0 else "gpt-4o-mini"
        unpriced = i % 20 == 5
        spans.append(
            llm(
                i,
                i,
                model="mystery-model" if unpriced else model,
                input_tokens=1000,
                output_tokens=50,
                cache_read=200,
                cost=None if unpriced else ("0.015" if model == "gpt-4o" else "0.0015"),
                ttft=i / 1000 / 2,
                start_s=i * 60.0,
                duration_s=i / 100,
                error=i % 10 == 0,
            )
        )
    return spans


PHASE_ATTRS = {
    "llm_cost.phase.pre_processing": 0.05,
    "llm_cost.phase.time_to_first_token": 0.3,
    "llm_cost.phase.generation": 0.5,
    "llm_cost.phase.tool": 0.1,
    "llm_cost.phase.post_processing": 0.05,
}


def agent_trace(trace: int, start_s: float = 0.0, agent: str = "travel-helper") -> list[dict[str, Any]]:
    """An agent run in end order: two steps (``plan``: 1 call; ``act``: 2 calls, one via a wrapper).

    Calls: plan $0.002, act $0.003 + $0.005 (the wrapper span reports usage too and must not count);
    trace total $0.010, 3 calls. Span ids are ``trace * 100 + n``.
    """
    base = trace * 100
    run = base + 1
    plan, act, wrapper = base + 2, base + 3, base + 4
    s = start_s
    return [
        llm(trace, base + 10, plan, cost="0.002", start_s=s + 0.1, duration_s=0.8, ttft=0.3),
        step(trace, plan, run, "plan", start_s=s, duration_s=1.0, attributes=dict(PHASE_ATTRS)),
        llm(
            trace,
            base + 11,
            act,
            model="claude-sonnet-4",
            provider="anthropic",
            cost="0.003",
            start_s=s + 1.1,
            duration_s=0.5,
        ),
        llm(
            trace, base + 12, wrapper, cost="0.005", start_s=s + 1.7, duration_s=0.4, response_id=f"r{trace}"
        ),
        {
            **llm(trace, wrapper, act, cost="0.005", start_s=s + 1.65, duration_s=0.5),
            "name": "framework wrapper",
        },
        step(
            trace, act, run, "act", start_s=s + 1.0, duration_s=1.5, attributes={"llm_cost.phase.tool": 0.2}
        ),
        {
            **span(
                trace,
                run,
                None,
                name=f"invoke_agent {agent}",
                start_s=s,
                duration_s=2.6,
                attributes={"gen_ai.operation.name": "invoke_agent", "gen_ai.agent.name": agent},
            )
        },
    ]
