"""OpenAI images and audio: the room reads recorded and scripted replies in each billing unit, and the
OpenAI SDK's ``images.generate`` / ``audio.transcriptions.create`` / ``audio.speech.create`` give one span
through the wire capture."""

from __future__ import annotations

import io
from collections.abc import Iterator
from typing import Any

import httpx2
import openai
import pytest
from families_recorded import cases, payloads, reference_price
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost.apis import WireRequest, find_wire_api
from otel_llm_cost.apis.openai_media import IMAGES, SPEECH, TRANSCRIPTIONS, form_fields
from otel_llm_cost.instrumentation.wire import WireInstrumentor
from otel_llm_cost.pricing import Pricer
from otel_llm_cost.usage import Usage
from replay import ReplayServer, json_response, sse_response


def wire(path: str, body: dict[str, Any] | None) -> WireRequest:
    return WireRequest("POST", "api.openai.com", 443, path, body=body, provider="openai")


@pytest.mark.parametrize(
    ("path", "room"),
    [
        ("/v1/images/generations", IMAGES),
        ("/v1/images/edits", IMAGES),
        ("/openai/deployments/d/images/generations", IMAGES),
        ("/v1/audio/transcriptions", TRANSCRIPTIONS),
        ("/v1/audio/translations", TRANSCRIPTIONS),
        ("/v1/audio/speech", SPEECH),
    ],
)
def test_paths_find_their_room(path: str, room: Any):
    assert find_wire_api("POST", path) is room
    assert find_wire_api("GET", path) is None


def test_recorded_dall_e_is_unpriced_with_its_image_count(shared_pricer: Pricer):
    for case in cases("openai.images"):
        request = wire(case.entry["path"], case.interaction.request_json())
        fields = IMAGES.response_fields(payloads(case.interaction)[0], request)
        assert IMAGES.request_model(request) == "dall-e-2"
        assert fields.attributes["llm_cost.usage.images"] == 1
        assert "per-image" in fields.attributes["llm_cost.cost.unpriced_reason"]
        assert fields.usage is not None
        assert shared_pricer.price(fields.usage, "dall-e-2", "openai").status == "unpriced"


def test_recorded_transcription_tokens_are_priced_as_calc_price(shared_pricer: Pricer):
    (case,) = cases("openai.audio_transcriptions")
    fields = TRANSCRIPTIONS.response_fields(payloads(case.interaction)[0], wire(case.entry["path"], None))
    assert fields.usage == Usage.of(1, 5)
    cost = shared_pricer.price(fields.usage, "gpt-4o-transcribe", "openai")
    assert cost.amount == reference_price(fields.usage, "gpt-4o-transcribe", "openai", at=None)


def test_whisper_duration_is_recorded_and_unpriced(shared_pricer: Pricer):
    body = {"text": "hi", "usage": {"type": "duration", "seconds": 7}}
    fields = TRANSCRIPTIONS.response_fields(body, wire("/v1/audio/transcriptions", {"model": "whisper-1"}))
    assert fields.attributes["llm_cost.usage.audio_seconds"] == 7
    assert "audio second" in fields.attributes["llm_cost.cost.unpriced_reason"]
    assert fields.usage is not None
    assert shared_pricer.price(fields.usage, "whisper-1", "openai").status == "unpriced"


def test_tts_characters_are_recorded_and_unpriced(shared_pricer: Pricer):
    request = wire("/v1/audio/speech", {"model": "tts-1", "input": "Hello there", "voice": "ash"})
    fields = SPEECH.response_fields(None, request)
    assert fields.attributes["llm_cost.usage.input_characters"] == len("Hello there")
    assert fields.usage is not None
    assert shared_pricer.price(fields.usage, "tts-1", "openai").status == "unpriced"


def test_token_billed_speech_without_usage_is_estimated_from_its_input():
    (case,) = cases("openai.audio_speech")
    request = wire(case.entry["path"], case.interaction.request_json())
    fields = SPEECH.response_fields(None, request)
    assert fields.usage is not None and fields.usage.source == "estimated"
    assert fields.usage.input_tokens > 0


def test_gpt_image_tokens_and_streams_are_read():
    usage = {"input_tokens": 50, "output_tokens": 4160, "input_tokens_details": {"text_tokens": 50}}
    request = wire("/v1/images/generations", {"model": "gpt-image-1", "prompt": "a cat", "stream": True})
    assert IMAGES.response_fields({"data": [{}], "usage": usage}, request).usage == Usage.of(50, 4160)
    events = [
        {"type": "image_generation.partial_image", "partial_image_index": 0},
        {"type": "image_generation.completed", "usage": usage},
    ]
    assert IMAGES.is_streaming(request) and IMAGES.is_content_event(events[0])
    assert IMAGES.stream_fields(events, 0, request).usage == Usage.of(50, 4160)


def test_form_fields_reads_plain_fields_and_leaves_the_upload_alone():
    upload = io.BytesIO(b"RIFF" + bytes(1000))
    request = httpx2.Request(
        "POST",
        "https://api.openai.com/v1/audio/transcriptions",
        data={"model": "whisper-1", "stream": "true"},
        files={"file": ("a.wav", upload, "audio/wav")},
    )
    assert form_fields(request.stream) == {"model": "whisper-1", "stream": "true"}
    assert upload.tell() == 0
    assert form_fields(b"not a stream") is None
    assert TRANSCRIPTIONS.is_streaming(wire("/v1/audio/transcriptions", form_fields(request.stream)))


# --- the OpenAI SDK through the wire capture ------------------------------------------------------------


@pytest.fixture
def served(tracer_provider: TracerProvider) -> Iterator[ReplayServer]:
    with ReplayServer([]) as srv:
        instrumentor = WireInstrumentor()
        instrumentor.instrument(
            tracer_provider=tracer_provider, hosts=f"127.0.0.1:{srv.url.rsplit(':', 1)[1]}=openai"
        )
        yield srv
        instrumentor.uninstrument()


def _one_span(exporter: InMemorySpanExporter) -> dict[str, Any]:
    spans = [s for s in exporter.get_finished_spans() if "gen_ai.operation.name" in (s.attributes or {})]
    assert len(spans) == 1
    return dict(spans[0].attributes or {})


def test_sdk_images_generate_gives_one_unpriced_span(served: ReplayServer, exporter: InMemorySpanExporter):
    (case, *_) = cases("openai.images")
    served.pending[:] = [case.interaction]
    client = openai.OpenAI(api_key="test", base_url=served.base_url, max_retries=0)
    client.images.generate(model="dall-e-2", prompt="A sunset", size="256x256")
    attributes = _one_span(exporter)
    assert attributes["gen_ai.operation.name"] == "generate_content"
    assert attributes["gen_ai.request.model"] == "dall-e-2"
    assert attributes["llm_cost.cost.status"] == "unpriced"
    assert attributes["llm_cost.usage.images"] == 1


def test_sdk_gpt_image_stream_is_priced(served: ReplayServer, exporter: InMemorySpanExporter):
    usage = {"input_tokens": 50, "output_tokens": 4160, "total_tokens": 4210}
    served.pending[:] = [
        sse_response(
            [
                (
                    "image_generation.partial_image",
                    {"type": "image_generation.partial_image", "b64_json": ""},
                ),
                (
                    "image_generation.completed",
                    {"type": "image_generation.completed", "b64_json": "", "usage": usage},
                ),
            ]
        )
    ]
    client = openai.OpenAI(api_key="test", base_url=served.base_url, max_retries=0)
    for _ in client.images.generate(model="gpt-image-1", prompt="a cat", stream=True, partial_images=1):
        pass
    attributes = _one_span(exporter)
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (50, 4160)
    expected = reference_price(Usage.of(50, 4160), "gpt-image-1", "openai", at=None)
    assert expected is not None and abs(attributes["gen_ai.usage.cost.amount"] - float(expected)) <= 1e-12


def test_sdk_transcription_gives_one_span_with_its_tokens(
    served: ReplayServer, exporter: InMemorySpanExporter
):
    (case,) = cases("openai.audio_transcriptions")
    served.pending[:] = [case.interaction]
    client = openai.OpenAI(api_key="test", base_url=served.base_url, max_retries=0)
    client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", b"RIFF" + bytes(100)))
    attributes = _one_span(exporter)
    assert (attributes["gen_ai.usage.input_tokens"], attributes["gen_ai.usage.output_tokens"]) == (1, 5)


@pytest.mark.xfail(
    strict=True, reason="the wire capture does not yet read a multipart form's model (form_fields)"
)
def test_sdk_transcription_is_priced_from_its_form_model(
    served: ReplayServer, exporter: InMemorySpanExporter
):
    (case,) = cases("openai.audio_transcriptions")
    served.pending[:] = [case.interaction]
    client = openai.OpenAI(api_key="test", base_url=served.base_url, max_retries=0)
    client.audio.transcriptions.create(model="gpt-4o-transcribe", file=("a.wav", b"RIFF" + bytes(100)))
    assert _one_span(exporter)["llm_cost.cost.status"] == "priced"


@pytest.mark.xfail(
    strict=True, reason="the wire capture does not yet ask the room about a non-JSON (audio) reply"
)
def test_sdk_speech_records_its_characters(served: ReplayServer, exporter: InMemorySpanExporter):
    served.pending[:] = [
        json_response({}).with_(headers=(("content-type", "audio/mpeg"),), body=b"ID3" + bytes(64))
    ]
    client = openai.OpenAI(api_key="test", base_url=served.base_url, max_retries=0)
    client.audio.speech.create(model="tts-1", voice="alloy", input="Hello there").read()
    assert _one_span(exporter)["llm_cost.usage.input_characters"] == len("Hello there")
