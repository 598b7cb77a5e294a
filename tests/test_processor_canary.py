"""Canaries for the SDK behaviour the processor relies on (see ``otel_llm_cost.processor``'s docstring).

If one of these fails after an opentelemetry-sdk upgrade, read its message: it says what to change.
"""

from __future__ import annotations

from decimal import Decimal

import pytest
from opentelemetry.sdk.trace import ConcurrentMultiSpanProcessor, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.version import __version__ as sdk_version

from otel_llm_cost import attributes as attr
from otel_llm_cost.pricing import Cost
from otel_llm_cost.processor import LLMCostSpanProcessor

LLM_ATTRIBUTES = {
    attr.GEN_AI_PROVIDER_NAME: "openai",
    attr.GEN_AI_REQUEST_MODEL: "gpt-4o",
    attr.GEN_AI_USAGE_INPUT_TOKENS: 100,
    attr.GEN_AI_USAGE_OUTPUT_TOKENS: 10,
}


class FixedPricer:
    def price(self, usage, model, provider, **_):
        z = Decimal(0)
        return Cost("priced", Decimal("0.25"), z, z, z, z, z)


class Recorder(SpanProcessor):
    """Logs the hooks it receives, and tries the public API inside ``_on_ending``."""

    def __init__(self, log: list[str], *, set_in_on_ending: bool = False) -> None:
        self.log = log
        self.set_in_on_ending = set_in_on_ending

    def _on_ending(self, span) -> None:
        self.log.append(f"_on_ending {span.name}")
        if self.set_in_on_ending:
            span.set_attribute("canary.set_in_on_ending", True)

    def on_end(self, span) -> None:
        self.log.append(f"on_end {span.name}")


def test_sdk_is_at_least_1_40():
    major, minor = (int(part) for part in sdk_version.split(".")[:2])
    assert (major, minor) >= (1, 40), "the processor needs SpanProcessor._on_ending (opentelemetry-sdk 1.40+)"


def test_on_ending_exists_and_runs_before_on_end():
    assert hasattr(SpanProcessor, "_on_ending"), (
        "SpanProcessor._on_ending is gone: the processor cannot add attributes"
    )
    log: list[str] = []
    provider = TracerProvider()
    provider.add_span_processor(Recorder(log))
    with provider.get_tracer("canary").start_as_current_span("s"):
        pass
    assert log == ["_on_ending s", "on_end s"]


def test_set_attribute_in_on_ending_is_still_a_no_op():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(Recorder([], set_in_on_ending=True))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    with provider.get_tracer("canary").start_as_current_span("s"):
        pass
    (span,) = exporter.get_finished_spans()
    assert "canary.set_in_on_ending" not in span.attributes, (
        "the SDK now lets _on_ending set attributes through the public API: switch "
        "otel_llm_cost.processor._add_frozen_attributes to span.set_attributes"
    )


def _export_through(provider: TracerProvider) -> tuple[InMemorySpanExporter, InMemorySpanExporter]:
    before, after = InMemorySpanExporter(), InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(before))
    provider.add_span_processor(LLMCostSpanProcessor(FixedPricer()))
    provider.add_span_processor(SimpleSpanProcessor(after))
    tracer = provider.get_tracer("canary")
    with tracer.start_as_current_span("root"), tracer.start_as_current_span("chat") as span:
        span.set_attributes(LLM_ATTRIBUTES)
    return before, after


@pytest.mark.parametrize(
    "provider",
    [TracerProvider(), TracerProvider(active_span_processor=ConcurrentMultiSpanProcessor(2))],
    ids=["synchronous", "concurrent"],
)
def test_replaced_attributes_reach_exporters_before_and_after_ours(provider):
    before, after = _export_through(provider)
    for exporter in (before, after):
        chat, root = exporter.get_finished_spans()
        assert chat.attributes[attr.GEN_AI_USAGE_COST_AMOUNT] == 0.25, (
            "attributes swapped in _on_ending no longer reach on_end: the SDK stopped building the "
            "ReadableSpan from span._attributes after _on_ending"
        )
        assert chat.attributes[attr.GEN_AI_USAGE_INPUT_TOKENS] == 100, (
            "the producer's attributes were lost: BoundedAttributes no longer stores its items in _dict"
        )
        assert root.attributes[attr.LLM_COST_TOTAL_COST] == 0.25
    provider.shutdown()


def test_replaced_attributes_stay_frozen():
    _, after = _export_through(TracerProvider())
    chat, _ = after.get_finished_spans()
    with pytest.raises(TypeError):
        chat._attributes["late"] = 1  # the SDK's BoundedAttributes, immutable like the original


def test_the_sdk_configurator_still_takes_span_processors():
    import inspect

    from opentelemetry.sdk._configuration import _initialize_components, _OTelSDKConfigurator

    assert hasattr(_OTelSDKConfigurator, "configure"), (
        "opentelemetry.sdk._configuration._OTelSDKConfigurator is gone: otel_llm_cost._autoconfig "
        "builds the SDK with it when no distro did"
    )
    assert "span_processors" in inspect.signature(_initialize_components).parameters, (
        "the SDK configurator no longer takes span_processors: otel_llm_cost._autoconfig._sdk_configure "
        "must add the JSONL processor another way"
    )


def test_installed_versions_are_inside_the_declared_bounds():
    """The bounds in pyproject.toml name the releases tested here; scripts/canary.sh otel tries newer ones.

    Under the canary (``OTEL_LLM_COST_CANARY_BOUNDS=1``) a newer release is expected, and passing the
    other canaries on it means the bound can move: this test then prints the release instead of failing.
    """
    import importlib.metadata as metadata
    import os

    from packaging.requirements import Requirement

    canary = os.environ.get("OTEL_LLM_COST_CANARY_BOUNDS") == "1"
    for line in metadata.requires("otel-llm-cost") or []:
        requirement = Requirement(line)
        if requirement.marker is not None or not any(s.operator == "<" for s in requirement.specifier):
            continue
        installed = metadata.version(requirement.name)
        inside = requirement.specifier.contains(installed, prereleases=True)
        if canary and not inside:
            print(f"canary: {requirement.name} {installed} is past the bound {requirement.specifier}")
            continue
        bound = requirement.specifier
        assert inside, f"{requirement.name} {installed} is outside {bound}: see scripts/canary.sh"
