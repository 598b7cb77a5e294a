"""The offline demo: the local model server through the real SDKs, the cost table, and the demo script."""

from __future__ import annotations

import asyncio
import json
import math
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from otel_llm_cost import attributes as attr
from otel_llm_cost.demo import _script as script
from otel_llm_cost.demo.server import DemoServer
from otel_llm_cost.demo.table import format_llm_calls, llm_calls

ROOT = Path(__file__).resolve().parents[1]
WEATHER = "What will the weather be like in Paris tomorrow?"
SYSTEM = "You are a concise travel helper."
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Tomorrow's forecast for a city.",
            "parameters": {
                "type": "object",
                "properties": {"city": {"type": "string"}},
                "required": ["city"],
            },
        },
    }
]
RESPONSES_TOOLS = [{"type": "function", **TOOLS[0]["function"]}]


@pytest.fixture
def server() -> Iterator[DemoServer]:
    with DemoServer(first_token_delay=0, chunk_delay=0) as demo:
        yield demo


@pytest.fixture
def client(server: DemoServer) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(base_url=server.base_url, api_key="demo", max_retries=0) as sdk:
        yield sdk


@pytest.fixture
def claude(server: DemoServer) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(base_url=server.anthropic_base_url, api_key="demo", max_retries=0) as sdk:
        yield sdk


def weather_messages() -> list[dict]:
    return [{"role": "system", "content": SYSTEM}, {"role": "user", "content": WEATHER}]


# --- chat completions -----------------------------------------------------------------------------


def test_chat_usage_follows_the_token_rule(client):
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "hello there"}]
    )

    # "hello there": 2 words -> 3 tokens, +4 message framing, +3 request framing.
    assert reply.usage.prompt_tokens == 10
    assert reply.choices[0].message.content == script.SCRIPT[2].answer
    assert reply.usage.completion_tokens == script.count_tokens(script.SCRIPT[2].answer)
    assert reply.usage.total_tokens == reply.usage.prompt_tokens + reply.usage.completion_tokens
    assert reply.model == "gpt-4o-mini"
    assert reply.choices[0].finish_reason == "stop"


def test_chat_stream_with_include_usage_ends_with_a_usage_chunk(client, server):
    chunks = list(
        client.chat.completions.create(
            model="gpt-4.1", messages=weather_messages(), stream=True, stream_options={"include_usage": True}
        )
    )
    with DemoServer(first_token_delay=0, chunk_delay=0) as other:  # a cold cache, for the same usage
        plain = openai.OpenAI(base_url=other.base_url, api_key="demo", max_retries=0)
        expected = plain.chat.completions.create(model="gpt-4.1", messages=weather_messages())

    assert all(chunk.usage is None for chunk in chunks[:-1])
    assert chunks[-1].choices == []
    assert chunks[-1].usage.model_dump() == expected.usage.model_dump()
    text = "".join(chunk.choices[0].delta.content or "" for chunk in chunks[:-1])
    assert text == expected.choices[0].message.content
    assert [c.choices[0].finish_reason for c in chunks[:-1]][-1] == "stop"
    assert {chunk.model for chunk in chunks} == {"gpt-4.1"}


def test_chat_stream_without_include_usage_has_no_usage(client):
    chunks = list(
        client.chat.completions.create(model="gpt-4o-mini", messages=weather_messages(), stream=True)
    )

    assert len(chunks) > 3
    assert all(chunk.usage is None and chunk.choices for chunk in chunks)


def test_chat_tool_call_then_answer_with_cached_prefix(client):
    first = list(
        client.chat.completions.create(
            model="gpt-4o-mini",
            messages=weather_messages(),
            tools=TOOLS,
            stream=True,
            stream_options={"include_usage": True},
        )
    )
    parts = [tc for c in first if c.choices for tc in c.choices[0].delta.tool_calls or []]
    call_id, name = parts[0].id, parts[0].function.name
    arguments = "".join(part.function.arguments or "" for part in parts)
    assert (name, json.loads(arguments)) == ("get_weather", {"city": "Paris"})
    assert first[-2].choices[0].finish_reason == "tool_calls"

    messages = [
        *weather_messages(),
        {
            "role": "assistant",
            "tool_calls": [
                {"id": call_id, "type": "function", "function": {"name": name, "arguments": arguments}}
            ],
        },
        {"role": "tool", "tool_call_id": call_id, "content": '{"forecast": "light rain"}'},
    ]
    second = client.chat.completions.create(model="gpt-4o-mini", messages=messages, tools=TOOLS)

    assert second.choices[0].message.content.startswith("Tomorrow in Paris expect light rain")
    assert first[-1].usage.prompt_tokens_details.cached_tokens == 0
    cached = second.usage.prompt_tokens_details.cached_tokens
    assert cached == first[-1].usage.prompt_tokens  # the first request is the second one's prefix
    assert 0 < cached < second.usage.prompt_tokens


def test_chat_tool_choice_none_answers_in_text(client):
    reply = client.chat.completions.create(
        model="gpt-4o-mini", messages=weather_messages(), tools=TOOLS, tool_choice="none"
    )

    assert reply.choices[0].message.tool_calls is None
    assert "umbrella" in reply.choices[0].message.content


def test_chat_reasoning_tokens_only_for_o_models(client):
    thinking = client.chat.completions.create(model="o4-mini", messages=weather_messages())
    plain = client.chat.completions.create(model="gpt-4o-mini", messages=weather_messages())

    visible = script.count_tokens(thinking.choices[0].message.content)
    reasoning = thinking.usage.completion_tokens_details.reasoning_tokens
    assert reasoning > 0
    assert thinking.usage.completion_tokens == visible + reasoning
    assert plain.usage.completion_tokens_details.reasoning_tokens == 0


async def test_async_streams_run_concurrently(server):
    sdk = openai.AsyncOpenAI(base_url=server.base_url, api_key="demo", max_retries=0)

    async def one(model: str) -> int:
        stream = await sdk.chat.completions.create(
            model=model, messages=weather_messages(), stream=True, stream_options={"include_usage": True}
        )
        usage = [chunk.usage async for chunk in stream if chunk.usage is not None]
        return usage[0].completion_tokens

    tokens = await asyncio.gather(one("gpt-4o-mini"), one("gpt-4.1"), one("o3-mini"))
    await sdk.close()

    assert tokens[0] == tokens[1] < tokens[2]


# --- responses ------------------------------------------------------------------------------------


def test_responses_non_streaming(client):
    response = client.responses.create(model="gpt-4.1", input="Summarise in one sentence: rain in Rome.")

    assert response.output_text == script.SCRIPT[0].answer.format(city="Rome")
    assert response.model == "gpt-4.1"
    usage = response.usage
    assert usage.input_tokens > 0 and usage.output_tokens == script.count_tokens(response.output_text)
    assert usage.total_tokens == usage.input_tokens + usage.output_tokens
    assert usage.output_tokens_details.reasoning_tokens == 0


def test_responses_stream_ends_with_completed_usage(client):
    events = list(
        client.responses.create(model="o4-mini", input="Summarise in one sentence: rain.", stream=True)
    )
    with DemoServer(first_token_delay=0, chunk_delay=0) as other:
        expected = openai.OpenAI(base_url=other.base_url, api_key="demo", max_retries=0).responses.create(
            model="o4-mini", input="Summarise in one sentence: rain."
        )

    assert [events[0].type, events[-1].type] == ["response.created", "response.completed"]
    assert [event.sequence_number for event in events] == list(range(len(events)))
    deltas = "".join(event.delta for event in events if event.type == "response.output_text.delta")
    assert deltas == expected.output_text
    assert events[-1].response.usage.model_dump() == expected.usage.model_dump()
    assert events[-1].response.usage.output_tokens_details.reasoning_tokens > 0
    assert events[-1].response.output[0].type == "reasoning"


def test_responses_function_call_round_trip(client):
    first = client.responses.create(model="gpt-4.1", input=WEATHER, tools=RESPONSES_TOOLS)
    call = first.output[0]
    second = client.responses.create(
        model="gpt-4.1",
        input=[
            {"role": "user", "content": WEATHER},
            {
                "type": "function_call",
                "call_id": call.call_id,
                "name": call.name,
                "arguments": call.arguments,
            },
            {"type": "function_call_output", "call_id": call.call_id, "output": '{"forecast": "rain"}'},
        ],
        tools=RESPONSES_TOOLS,
    )

    assert (call.type, call.name, json.loads(call.arguments)) == (
        "function_call",
        "get_weather",
        {"city": "Paris"},
    )
    assert second.output_text.startswith("Tomorrow in Paris")
    assert second.usage.input_tokens_details.cached_tokens == first.usage.input_tokens


# --- embeddings -----------------------------------------------------------------------------------


def test_embeddings_base64_default_and_float_agree(client):
    packed = client.embeddings.create(model="text-embedding-3-small", input=["hello world", "rain in Paris"])
    floats = client.embeddings.create(
        model="text-embedding-3-small", input=["hello world", "rain in Paris"], encoding_format="float"
    )

    assert [len(item.embedding) for item in packed.data] == [1536, 1536]
    assert packed.data[0].embedding == pytest.approx(floats.data[0].embedding, abs=1e-6)
    assert packed.data[0].embedding != packed.data[1].embedding
    assert math.fsum(v * v for v in floats.data[1].embedding) == pytest.approx(1.0)
    assert packed.usage.prompt_tokens == packed.usage.total_tokens == 3 + 4  # 2 words -> 3, 3 words -> 4
    assert packed.model == "text-embedding-3-small"


def test_embeddings_dimensions(client):
    result = client.embeddings.create(model="text-embedding-3-large", input="hello", dimensions=8)

    assert len(result.data[0].embedding) == 8


# --- anthropic messages ---------------------------------------------------------------------------


def cached_system(ttl: str | None = None) -> list[dict]:
    control = {"type": "ephemeral", **({"ttl": ttl} if ttl else {})}
    return [{"type": "text", "text": "You are a travel helper. " * 40, "cache_control": control}]


def test_messages_cache_write_then_read(claude):
    calls = [
        claude.messages.create(
            model="claude-haiku-4-5",
            max_tokens=200,
            system=cached_system(),
            messages=[{"role": "user", "content": q}],
        )
        for q in ("hello", "hello again")
    ]

    first, second = (call.usage for call in calls)
    assert first.cache_creation_input_tokens == script.content_tokens(cached_system()) > 0
    assert first.cache_read_input_tokens == 0
    assert first.cache_creation.ephemeral_5m_input_tokens == first.cache_creation_input_tokens
    assert (second.cache_read_input_tokens, second.cache_creation_input_tokens) == (
        first.cache_creation_input_tokens,
        0,
    )
    assert 0 < first.input_tokens < second.input_tokens  # only the uncached rest; "again" adds words
    assert calls[0].model == "claude-haiku-4-5" and calls[0].stop_reason == "end_turn"


def test_messages_one_hour_cache_write(claude):
    usage = claude.messages.create(
        model="claude-haiku-4-5",
        max_tokens=50,
        system=cached_system("1h"),
        messages=[{"role": "user", "content": "hi"}],
    ).usage

    assert usage.cache_creation.ephemeral_1h_input_tokens == usage.cache_creation_input_tokens > 0
    assert usage.cache_creation.ephemeral_5m_input_tokens == 0


def test_messages_raw_stream_events(claude):
    request = {
        "model": "claude-haiku-4-5",
        "max_tokens": 200,
        "messages": [{"role": "user", "content": "hello"}],
    }
    events = list(claude.messages.create(**request, stream=True))
    expected = claude.messages.create(**request)

    types = [event.type for event in events]
    assert types[0] == "message_start" and types[-2:] == ["message_delta", "message_stop"]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text == expected.content[0].text
    assert events[0].message.usage.input_tokens == expected.usage.input_tokens
    assert events[-2].usage.output_tokens == expected.usage.output_tokens > 0
    assert events[-2].delta.stop_reason == "end_turn"


def test_messages_stream_tool_use_and_result(claude):
    tools = [
        {
            "name": "get_weather",
            "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}},
        }
    ]
    question = {"role": "user", "content": "Weather in Rome tomorrow?"}
    with claude.messages.stream(
        model="claude-haiku-4-5", max_tokens=200, tools=tools, messages=[question]
    ) as stream:
        asked = stream.get_final_message()
    block = asked.content[0]
    answer = claude.messages.create(
        model="claude-haiku-4-5",
        max_tokens=200,
        tools=tools,
        messages=[
            question,
            {"role": "assistant", "content": [block.model_dump(include={"type", "id", "name", "input"})]},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": block.id, "content": "rain"}],
            },
        ],
    )

    assert (block.type, block.name, block.input) == ("tool_use", "get_weather", {"city": "Rome"})
    assert asked.stop_reason == "tool_use" and asked.usage.output_tokens > 0
    assert answer.content[0].text.startswith("Tomorrow in Rome")


# --- errors and the command line ------------------------------------------------------------------


def test_bad_requests_get_provider_style_errors(client, claude, server):
    with pytest.raises(openai.BadRequestError, match="messages"):
        client.chat.completions.create(model="gpt-4o-mini", messages=[])
    with pytest.raises(anthropic.BadRequestError, match="messages"):
        claude.messages.create(model="claude-haiku-4-5", max_tokens=10, messages=[])
    request = urllib.request.Request(f"{server.base_url}/nowhere", data=b"{}", method="POST")
    with pytest.raises(urllib.error.HTTPError) as raised:
        urllib.request.urlopen(request, timeout=10)
    assert raised.value.code == 404


def test_module_serves_until_stopped():
    command = [sys.executable, "-m", "otel_llm_cost.demo.server", "--port", "0", "--first-token-delay", "0"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env=_clean_env())
    try:
        banner = process.stdout.readline()
        base_url = re.search(r"OPENAI_BASE_URL=(\S+)", banner).group(1)
        reply = openai.OpenAI(base_url=base_url, api_key="demo", max_retries=0).embeddings.create(
            model="text-embedding-3-small", input="hello"
        )
        assert reply.usage.prompt_tokens == 2
    finally:
        process.terminate()
        process.wait(timeout=10)
        process.stdout.close()


# --- the table ------------------------------------------------------------------------------------


def finished_spans(*specs: tuple[str, dict, int, int]) -> list:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    for name, attributes, start_ms, end_ms in specs:
        span = tracer.start_span(name, attributes=attributes, start_time=start_ms * 1_000_000)
        span.end(end_time=end_ms * 1_000_000)
    return list(exporter.get_finished_spans())


def test_table_lists_llm_calls_with_total():
    chat = {
        attr.GEN_AI_OPERATION_NAME: "chat",
        attr.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        attr.GEN_AI_RESPONSE_MODEL: "gpt-4o-mini-2024-07-18",
        attr.GEN_AI_USAGE_INPUT_TOKENS: 1200,
        attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1024,
        attr.GEN_AI_USAGE_OUTPUT_TOKENS: 40,
        attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: 0.0815,
        attr.GEN_AI_USAGE_COST_AMOUNT: 0.0001,
    }
    embed = {attr.GEN_AI_OPERATION_NAME: "embeddings", attr.GEN_AI_REQUEST_MODEL: "text-embedding-3-small"}
    embed[attr.GEN_AI_USAGE_INPUT_TOKENS] = 12
    spans = finished_spans(
        ("embeddings text-embedding-3-small", embed, 500, 530),
        ("chat gpt-4o-mini", chat, 100, 350),
        ("execute_tool get_weather", {attr.GEN_AI_OPERATION_NAME: "execute_tool"}, 360, 370),
        ("retrieve", {}, 0, 90),
    )

    lines = format_llm_calls(spans).splitlines()

    assert lines[0].split() == [
        "operation",
        "model",
        "input",
        "cached",
        "output",
        "reasoning",
        "TTFT",
        "ms",
        "duration",
        "ms",
        "cost",
        "USD",
    ]
    assert lines[2].split() == [
        "chat",
        "gpt-4o-mini-2024-07-18",
        "1,200",
        "1,024",
        "40",
        "0",
        "82",
        "250",
        "0.00010000",
    ]
    assert lines[3].split() == ["embeddings", "text-embedding-3-small", "12", "0", "0", "0", "-", "30", "-"]
    assert lines[5].split() == ["total", "(2", "calls)", "1,212", "1,024", "40", "0", "280", "0.00010000"]
    assert lines[6] == "(1 of 2 calls unpriced: shown as '-', left out of the total)"
    assert len(lines) == 7


def test_table_without_llm_calls():
    spans = finished_spans(("retrieve", {}, 0, 5))

    assert llm_calls(spans) == []
    assert format_llm_calls(spans) == "No LLM calls were recorded."


# --- the README demo ------------------------------------------------------------------------------


def _clean_env() -> dict[str, str]:
    keep = ("PATH", "HOME", "LANG", "LC_ALL", "SYSTEMROOT", "TMPDIR")
    return {name: os.environ[name] for name in keep if name in os.environ}


def _table_rows(output: str) -> list[list[str]]:
    lines = output.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("operation "))
    end = next(i for i in range(header + 2, len(lines)) if lines[i].startswith("---"))
    return [re.split(r"\s{2,}", line.strip()) for line in lines[header + 2 : end]]


def test_demo_script_prints_the_calls_and_the_report_offline(tmp_path):
    """Needs the openai instrumentation (src/otel_llm_cost/instrumentation/openai) to produce spans."""
    done = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "demo.py")],
        cwd=ROOT,
        env={**_clean_env(), "OTEL_LLM_COST_DEMO_DIR": str(tmp_path)},
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert done.returncode == 0, done.stderr
    rows = {row[1]: row for row in _table_rows(done.stdout)}
    assert set(rows) == {"gpt-4o-mini", "text-embedding-3-small", "o4-mini"}
    number = lambda cell: int(cell.replace(",", ""))  # noqa: E731
    for row in rows.values():
        assert number(row[2]) > 0, row  # input tokens
    assert number(rows["gpt-4o-mini"][4]) > 0 and number(rows["o4-mini"][4]) > 0  # output tokens
    assert number(rows["o4-mini"][5]) > 0  # reasoning tokens
    chat_rows = [row for row in _table_rows(done.stdout) if row[1] == "gpt-4o-mini"]
    assert len(chat_rows) == 4  # two agent runs, two chat calls each
    assert number(chat_rows[1][3]) > 0  # the second chat call reuses the first one's prompt: cached tokens
    # The spans went to a JSONL file, and the report of that file follows, then what to try next.
    spans = tmp_path / "otel-llm-cost-demo.jsonl"
    assert len(spans.read_text().splitlines()) == 20
    report = done.stdout[done.stdout.index("$ otel-llm-cost report") :]
    assert "Calls       8 · success 100.0% (0 errors) · 2 traces" in report
    steps = dict(re.findall(r"^(plan|act|answer|retrieve|run) +(\d+)", report, re.MULTILINE))
    assert steps == {"run": "2", "answer": "2", "plan": "2", "act": "2", "retrieve": "2"}
    assert re.search(r"^answer +6 ", report, re.MULTILINE) and re.search(r"^plan +2 ", report, re.MULTILINE)
    assert f"otel-llm-cost report {spans} --html demo-report.html" in report
    assert re.search(rf"otel-llm-cost report {re.escape(str(spans))} --trace [0-9a-f]{{32}}", report)
    assert f"otel-llm-cost tail {spans} --from-start" in report
