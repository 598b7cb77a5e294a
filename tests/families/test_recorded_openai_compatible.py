"""Mistral, Groq, Together and DeepSeek speak OpenAI's chat completions and embeddings: every recorded
exchange of theirs (``tests/cassettes/index.json``), decoded and read by the OpenAI rooms directly, gives
the recorded usage and genai-prices' price for it."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import pytest
from families_recorded import RECORDED_AT, TOLERANCE, payloads, reference_price
from oai_helpers import expected_tokens

from otel_llm_cost.apis import WireRequest, find_wire_api
from otel_llm_cost.instrumentation._invocation import usage_attributes
from otel_llm_cost.pricing import Pricer
from otel_llm_cost.providers import provider_for_host
from replay import CASSETTES, load

PROVIDERS = ("mistral", "groq", "together", "deepseek")


def _cases() -> list[Any]:
    found = []
    for record in json.loads((CASSETTES / "index.json").read_text()):
        for entry in record["interactions"]:
            if entry["provider"] in PROVIDERS and entry["status"] == 200 and entry["usage"]:
                name = record["file"].rsplit("/", 1)[-1]
                found.append(
                    pytest.param(record["file"], entry, id=f"{entry['provider']}-{name}-{entry['index']}")
                )
    return found


CASES = _cases()


def test_each_provider_is_recorded():
    assert {entry["provider"] for _, entry in (case.values for case in CASES)} == set(PROVIDERS)


@pytest.mark.parametrize(("file", "entry"), CASES)
def test_openai_room_reads_compatible_providers(file: str, entry: dict[str, Any], shared_pricer: Pricer):
    interaction = load(file)[entry["index"]]
    split = urlsplit(f"//{interaction.host}")
    request = WireRequest(
        method="POST",
        host=split.hostname,
        port=split.port,
        path=interaction.path or "",
        body=interaction.request_json(),
        provider=provider_for_host(split.hostname, split.port),
    )
    room = find_wire_api("POST", request.path)
    assert room is not None and room.name.startswith("openai.")
    events = payloads(interaction)
    fields = (
        room.stream_fields(events, 0, request)
        if entry["stream"]
        else room.response_fields(events[0], request)
    )
    assert fields.usage is not None
    got = {k: v for k, v in usage_attributes(fields.usage).items() if k.startswith("gen_ai.usage.")}
    assert {k: v for k, v in got.items() if v} == {
        k: v for k, v in expected_tokens(entry["api"], entry["usage"]).items() if v
    }
    model = fields.model or entry["model"]
    cost = shared_pricer.price(fields.usage, model, request.provider, at=RECORDED_AT)
    expected = reference_price(fields.usage, model, request.provider)
    if expected is None:
        assert (cost.status, cost.amount) == ("unpriced", None)
    else:
        assert cost.amount is not None and abs(cost.amount - expected) <= TOLERANCE
