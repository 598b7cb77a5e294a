"""What the processor reads from spans for the latency phases: which spans are steps, calls and tools.

Pure functions over a span's attributes and clock readings (integer nanoseconds); the definitions of the
phases themselves are in :mod:`otel_llm_cost.phases`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Final

from otel_llm_cost import attributes as attr
from otel_llm_cost._step_activity import step_decomposition
from otel_llm_cost.phases import PHASE_NAMES, CallInterval, ToolInterval, call_generation_ns

_STEP_TYPES: Final[frozenset[object]] = frozenset({"agent_step", "agent_run"})
_TOOL_TYPE: Final = "tool"
_INVOKE_AGENT: Final = "invoke_agent"
_EXECUTE_TOOL: Final = "execute_tool"
# Operations whose spans are model calls even when they report no usage (a failed call still took time).
_MODEL_OPERATIONS: Final[frozenset[object]] = frozenset(
    {"chat", "text_completion", "generate_content", "embeddings"}
)
_PHASE_ATTRIBUTES: Final = dict(
    zip(
        PHASE_NAMES,
        (
            attr.LLM_COST_PHASE_PRE_PROCESSING,
            attr.LLM_COST_PHASE_TIME_TO_FIRST_TOKEN,
            attr.LLM_COST_PHASE_GENERATION,
            attr.LLM_COST_PHASE_TOOL,
            attr.LLM_COST_PHASE_POST_PROCESSING,
        ),
        strict=True,
    )
)

Interval = CallInterval | ToolInterval


def is_step(attributes: Mapping[str, object] | None) -> bool:
    """Whether a starting span is a step (ours: ``llm_cost.span.type``; others': ``invoke_agent``)."""
    if not attributes:
        return False
    return (
        attributes.get(attr.LLM_COST_SPAN_TYPE) in _STEP_TYPES
        or attributes.get(attr.GEN_AI_OPERATION_NAME) == _INVOKE_AGENT
    )


def activity_of(
    start: int, end: int, attributes: Mapping[str, object], *, is_call: bool, wrapper: bool = False
) -> Interval | None:
    """The interval an ended span adds to the steps above it, or ``None``.

    Args:
        start: The span's start (ns).
        end: The span's end (ns).
        attributes: Its attributes.
        is_call: It reported usage. A model operation without usage (a failed call) counts as a call too.
        wrapper: Usage was reported below it: never a call (its calls were handed up already).
    """
    operation = attributes.get(attr.GEN_AI_OPERATION_NAME)
    if operation == _EXECUTE_TOOL or attributes.get(attr.LLM_COST_SPAN_TYPE) == _TOOL_TYPE:
        return ToolInterval(start, end)
    if not wrapper and (is_call or operation in _MODEL_OPERATIONS):
        return call_interval(start, end, attributes)
    return None


def call_interval(start: int, end: int, attributes: Mapping[str, object]) -> CallInterval:
    """A call's interval; its first chunk is its start plus ``gen_ai.response.time_to_first_chunk``."""
    ttfc = attributes.get(attr.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
    first = None
    if isinstance(ttfc, int | float) and not isinstance(ttfc, bool) and ttfc >= 0:
        first = min(start + int(ttfc * 1e9), end)
    return CallInterval(start, first, end)


def call_timing(
    start: int, end: int, attributes: Mapping[str, object], output_tokens: int
) -> dict[str, float]:
    """``llm_cost.phase.generation`` and ``llm_cost.output_tokens_per_second`` of one LLM span."""
    generation = call_generation_ns(call_interval(start, end, attributes)) / 1e9
    timing = {attr.LLM_COST_PHASE_GENERATION: generation}
    if generation > 0 and output_tokens > 0:
        timing[attr.LLM_COST_OUTPUT_TOKENS_PER_SECOND] = output_tokens / generation
    return timing


def step_phases(start: int, end: int, activity: Iterable[object]) -> dict[str, float]:
    """A step's phases in seconds, keyed by phase name (``pre_processing``...)."""
    return step_decomposition(start, end, activity).seconds()


def phase_attributes(seconds: Mapping[str, float]) -> dict[str, float]:
    """``llm_cost.phase.*`` span attributes from :func:`step_phases`."""
    return {_PHASE_ATTRIBUTES[name]: value for name, value in seconds.items()}
