"""Usage blocks and models read straight from the recorded provider responses in shared/cassettes.

Only what the pricing tests need: the final usage of OpenAI chat / Responses and Anthropic messages
calls (JSON bodies and SSE streams), mapped to our inclusive :class:`Usage` convention.
"""

from __future__ import annotations

import gzip
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import yaml

from otel_llm_cost.usage import Usage

CASSETTES = Path(__file__).resolve().parents[2].parent / "shared" / "cassettes"
_APIS = {("openai", "chat.completions"), ("openai", "responses"), ("anthropic", "messages")}
# Recordings without a timestamp are priced at a fixed date (any date works: both sides use it).
_DEFAULT_AT = datetime(2025, 7, 1, tzinfo=UTC)


@dataclass(frozen=True)
class RecordedCall:
    file: str
    provider: str
    model: str
    usage: Usage
    at: datetime


def recorded_calls() -> list[RecordedCall]:
    """Every distinct (provider, model, usage) found in the catalogue's OpenAI and Anthropic calls."""
    seen: dict[tuple[str, str, Usage], RecordedCall] = {}
    for row in _catalogue():
        wanted = {i["provider"] for i in row["interactions"] if (i["provider"], i["api"]) in _APIS}
        if not wanted or row["file"].endswith(".json"):
            continue
        for call in _calls(CASSETTES / row["file"], wanted):
            seen.setdefault((call.provider, call.model, call.usage), call)
    return list(seen.values())


def _catalogue() -> Iterator[dict[str, Any]]:
    with (CASSETTES / "catalogue.jsonl").open(encoding="utf-8") as lines:
        for line in lines:
            yield json.loads(line)


def _calls(path: Path, providers: set[str]) -> Iterator[RecordedCall]:
    cassette = yaml.safe_load(path.read_text(encoding="utf-8"))
    for interaction in cassette.get("interactions") or []:
        response = interaction.get("response") or {}
        if (response.get("status") or {}).get("code") != 200:
            continue
        text = _body(response)
        provider = _provider(interaction["request"]["uri"])
        if provider not in providers or text is None:
            continue
        for body in _json_documents(text):
            call = _call(path, provider, body)
            if call is not None:
                yield call


def _provider(uri: str) -> str | None:
    if "api.anthropic.com" in uri:
        return "anthropic"
    return "openai" if "api.openai.com" in uri else None


def _body(response: dict[str, Any]) -> str | None:
    raw = (response.get("body") or {}).get("string")
    if isinstance(raw, bytes):
        try:
            raw = gzip.decompress(raw) if raw[:2] == b"\x1f\x8b" else raw
            return raw.decode("utf-8")
        except (OSError, UnicodeDecodeError):
            return None
    return raw if isinstance(raw, str) else None


def _json_documents(text: str) -> list[dict[str, Any]]:
    """The body as one JSON document, or an SSE stream folded into one final message."""
    try:
        document = json.loads(text)
        return [document] if isinstance(document, dict) else []
    except json.JSONDecodeError:
        pass
    events = []
    for line in text.splitlines():
        if line.startswith("data:") and line[5:].strip() not in ("", "[DONE]"):
            try:
                events.append(json.loads(line[5:]))
            except json.JSONDecodeError:
                continue
    folded = _fold_stream(events)
    return [folded] if folded else []


def _fold_stream(events: list[dict[str, Any]]) -> dict[str, Any] | None:
    final: dict[str, Any] = {}
    for event in events:
        kind = event.get("type")
        if kind == "message_start":  # Anthropic: input side first, output counts in message_delta
            final = dict(event["message"])
            final["usage"] = dict(final.get("usage") or {})
        elif kind == "message_delta" and final:
            final["usage"].update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
        elif kind == "response.completed":  # OpenAI Responses
            final = event["response"]
        elif event.get("object") == "chat.completion.chunk" and event.get("usage"):
            final = event
    return final or None


def _call(path: Path, provider: str, body: dict[str, Any]) -> RecordedCall | None:
    usage_block = body.get("usage")
    model = body.get("model")
    if not isinstance(usage_block, dict) or not isinstance(model, str):
        return None
    usage = _anthropic_usage(usage_block) if provider == "anthropic" else _openai_usage(usage_block)
    if usage is None:
        return None
    created = body.get("created") or body.get("created_at")
    at = datetime.fromtimestamp(created, UTC) if isinstance(created, int) else _DEFAULT_AT
    return RecordedCall(str(path.relative_to(CASSETTES)), provider, model, usage, at)


def _openai_usage(block: dict[str, Any]) -> Usage | None:
    if "prompt_tokens" in block:  # chat completions
        details_in = block.get("prompt_tokens_details") or {}
        details_out = block.get("completion_tokens_details") or {}
        inp, out = block.get("prompt_tokens"), block.get("completion_tokens")
    elif "input_tokens" in block:  # Responses
        details_in = block.get("input_tokens_details") or {}
        details_out = block.get("output_tokens_details") or {}
        inp, out = block.get("input_tokens"), block.get("output_tokens")
    else:
        return None
    return Usage.of(
        inp or 0,
        out or 0,
        cache_read_tokens=details_in.get("cached_tokens") or 0,
        reasoning_tokens=details_out.get("reasoning_tokens") or 0,
    )


def _anthropic_usage(block: dict[str, Any]) -> Usage | None:
    if "input_tokens" not in block:
        return None
    read = block.get("cache_read_input_tokens") or 0
    write = block.get("cache_creation_input_tokens") or 0
    split = block.get("cache_creation") or {}
    return Usage.of(
        (block.get("input_tokens") or 0) + read + write,  # Anthropic counts are additive
        block.get("output_tokens") or 0,
        cache_read_tokens=read,
        cache_write_tokens=write,
        cache_write_5m_tokens=split.get("ephemeral_5m_input_tokens"),
        cache_write_1h_tokens=split.get("ephemeral_1h_input_tokens"),
    )
