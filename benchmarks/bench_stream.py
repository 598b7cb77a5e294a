"""Time what otel-llm-cost adds per streamed chunk, with the SDK's own parsing taken out.

Run: python benchmarks/bench_stream.py [streams]

A stream object shaped like the SDKs' (``__iter__`` a generator over ``self._iterator``, itself a
generator) yields ready-made chunks; the same stream is consumed bare and through our proxy, alternately.
The difference per chunk is our per-chunk code alone (count, keep, first-content test, arrival time), plus the
per-stream set-up and end divided by the chunk count. Not a test: no assertions on time.
"""

from __future__ import annotations

import statistics
import sys
import time
from collections.abc import Iterator
from typing import Any

from opentelemetry.sdk.trace import TracerProvider

from otel_llm_cost.instrumentation._invocation import LLMInvocation
from otel_llm_cost.instrumentation._stream import StreamRecorder, SyncStreamProxy

CHUNKS = 200


class SdkLikeStream:
    def __init__(self, chunks: list[Any]) -> None:
        self._chunks = chunks
        self._iterator = self.__stream__()

    def __stream__(self) -> Iterator[Any]:
        yield from self._chunks

    def __iter__(self) -> Iterator[Any]:
        for item in self._iterator:  # noqa: UP028 - the SDKs' own shape, kept to time the same frames
            yield item


class _Recorder(StreamRecorder):
    __slots__ = ()

    def on_end(self, outcome: str, error: BaseException | None) -> None:
        self.invocation.stop(None, stream_outcome=outcome)


def _content(chunk: object) -> bool:
    return True


def main(streams: int) -> None:
    tracer = TracerProvider().get_tracer("bench")
    chunks = [object() for _ in range(CHUNKS)]

    def invocation() -> LLMInvocation:
        return LLMInvocation(tracer, operation="chat", provider="openai", request_model="m", attributes={})

    def bare() -> None:
        for _ in SdkLikeStream(chunks):
            pass

    def ours() -> None:
        invocation = LLMInvocation(
            tracer, operation="chat", provider="openai", request_model="m", attributes={}
        )
        for _ in SyncStreamProxy(SdkLikeStream(chunks), _Recorder(invocation, _content)):
            pass

    def bare_loop() -> None:  # the same stream without a span: the per-stream cost of a span apart
        invocation = LLMInvocation(
            tracer, operation="chat", provider="openai", request_model="m", attributes={}
        )
        for _ in SdkLikeStream(chunks):
            pass
        invocation.stop(None)

    timings: dict[str, list[float]] = {"bare": [], "ours": [], "span only": []}
    for _ in range(streams):
        for name, run in (("bare", bare), ("ours", ours), ("span only", bare_loop)):
            start = time.perf_counter_ns()
            run()
            timings[name].append(time.perf_counter_ns() - start)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    print(f"{CHUNKS}-chunk stream, median of {streams}: bare {medians['bare'] / 1000:.1f} us")
    for name in ("span only", "ours"):
        extra = (medians[name] - medians["bare"]) / CHUNKS
        print(f"  {name:10s} +{extra:.0f} ns per chunk (per-stream costs spread over the chunks)")
    print(f"  ours beyond the span: +{(medians['ours'] - medians['span only']) / CHUNKS:.0f} ns per chunk")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5_000)
