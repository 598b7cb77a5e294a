"""Time what the botocore capture adds to a Bedrock call, and per event of a ConverseStream.

Run: python benchmarks/bench_bedrock.py [rounds]

A real boto3 ``bedrock-runtime`` client (request serialisation, SigV4 signing, response parsing, event-stream
decoding) answered in process by a ``before-send`` hook, so no socket adds noise: ``converse`` returns a
recorded Nova body, ``converse_stream`` a stream of 200 text deltas then ``messageStop`` and ``metadata``.
The instrumentation stays installed; the bare calls run under OpenTelemetry's ``suppress_instrumentation``
(our wrapper then only checks a flag and calls through). Blocks of bare and instrumented calls alternate;
the medians of the blocks' means are compared. Not a test: no assertions.
"""

from __future__ import annotations

import binascii
import io
import json
import statistics
import struct
import sys
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
from botocore.awsrequest import AWSResponse
from opentelemetry.instrumentation.utils import suppress_instrumentation
from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost.instrumentation.botocore import BotocoreInstrumentor

EVENTS = 200
BLOCK = 50  # calls per timed block (streams: a fifth)
MESSAGES = [{"role": "user", "content": [{"text": "Say this is a test"}]}]
CONVERSE_BODY = json.dumps(
    {
        "output": {"message": {"role": "assistant", "content": [{"text": "This is a test."}]}},
        "stopReason": "end_turn",
        "usage": {"inputTokens": 7, "outputTokens": 5, "totalTokens": 12},
        "metrics": {"latencyMs": 120},
    }
).encode()


def _frame(event_type: str, payload: dict[str, Any]) -> bytes:
    headers = b"".join(
        bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(value)) + value.encode()
        for name, value in (
            (":event-type", event_type),
            (":content-type", "application/json"),
            (":message-type", "event"),
        )
    )
    body = json.dumps(payload).encode()
    prelude = struct.pack(">II", 16 + len(headers) + len(body), len(headers))
    message = prelude + struct.pack(">I", binascii.crc32(prelude)) + headers + body
    return message + struct.pack(">I", binascii.crc32(message))


STREAM_BODY = b"".join(
    [
        _frame("messageStart", {"role": "assistant"}),
        *(
            _frame("contentBlockDelta", {"contentBlockIndex": 0, "delta": {"text": " word"}})
            for _ in range(EVENTS)
        ),
        _frame("contentBlockStop", {"contentBlockIndex": 0}),
        _frame("messageStop", {"stopReason": "end_turn"}),
        _frame(
            "metadata", {"usage": {"inputTokens": 7, "outputTokens": EVENTS}, "metrics": {"latencyMs": 9}}
        ),
    ]
)


class _Raw:
    """What botocore reads a response from (urllib3's ``HTTPResponse``, as far as botocore uses it)."""

    def __init__(self, body: bytes) -> None:
        self._io = io.BytesIO(body)

    def stream(self, amt: int = 1024, decode_content: bool = False) -> Iterator[bytes]:
        while chunk := self._io.read(amt):
            yield chunk

    def read(self, amt: int | None = None, decode_content: bool = False) -> bytes:
        return self._io.read(amt)

    def close(self) -> None:
        pass


def _answer(request: Any, **_: Any) -> AWSResponse:
    streaming = request.url.endswith("/converse-stream")
    body, kind = (
        (STREAM_BODY, "application/vnd.amazon.eventstream")
        if streaming
        else (CONVERSE_BODY, "application/json")
    )
    headers = {"content-type": kind, "x-amzn-requestid": "bench"}
    if not streaming:
        headers["content-length"] = str(len(body))
    return AWSResponse(request.url, 200, headers, _Raw(body))


def _client() -> Any:
    client = boto3.session.Session().client(
        "bedrock-runtime", region_name="us-east-1", aws_access_key_id="a", aws_secret_access_key="b"
    )
    client.meta.events.register("before-send.bedrock-runtime.*", _answer)
    return client


def _block(call: Callable[[], Any], calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        call()
    return (time.perf_counter() - start) / calls


def _bare_block(call: Callable[[], Any], calls: int) -> float:
    with suppress_instrumentation():
        return _block(call, calls)


def main(rounds: int) -> None:
    client = _client()
    calls = {
        "converse": lambda: client.converse(modelId="amazon.nova-micro-v1:0", messages=MESSAGES),
        f"converse_stream ({EVENTS} events)": lambda: sum(
            1 for _ in client.converse_stream(modelId="amazon.nova-micro-v1:0", messages=MESSAGES)["stream"]
        ),
    }
    provider = TracerProvider()  # spans are made and ended; no exporter, so export costs nothing here
    BotocoreInstrumentor().instrument(tracer_provider=provider)
    for name, call in calls.items():
        calls_per_block = BLOCK if "stream" not in name else BLOCK // 5
        for _ in range(20):
            call()  # warm-up: service model, signer, parsers, prices
        bare, ours = [], []
        for _ in range(rounds):
            bare.append(_bare_block(call, calls_per_block))
            ours.append(_block(call, calls_per_block))
        b, o = statistics.median(bare) * 1e6, statistics.median(ours) * 1e6
        line = f"{name:32} bare {b:9.1f} us   instrumented {o:9.1f} us   added {o - b:7.1f} us ({o / b:.3f}x)"
        if "stream" in name:
            line += f"   {(o - b) / (EVENTS + 5):.2f} us per event"
        print(line)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 40)
