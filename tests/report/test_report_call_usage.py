"""The report's inline reading of a call's usage gives what the general reader gives, on any attributes.

``read_call_usage`` (the report's fast path, #19) builds the usage of a priced span with plain counts
itself and hands every other span to ``read_span_usage``; Hypothesis mixes every name either reads with
hostile values (wrong types, negatives, past 2**53, NaN, bools, empty text) to find a span where the two
answers differ.
"""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given, settings
from hypothesis import strategies as st

from otel_llm_cost import attributes as attr
from otel_llm_cost._span_usage import read_span_usage
from otel_llm_cost.report._call_usage import read_call_usage
from otel_llm_cost.usage import Usage

TOKENS = (
    attr.GEN_AI_USAGE_INPUT_TOKENS,
    attr.GEN_AI_USAGE_OUTPUT_TOKENS,
    attr.GEN_AI_USAGE_PROMPT_TOKENS,
    attr.GEN_AI_USAGE_COMPLETION_TOKENS,
    attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    "gen_ai.usage.cache_read_input_tokens",
    attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    attr.GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS,
    "gen_ai.usage.cache_creation_input_tokens",
    attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
    "gen_ai.usage.reasoning_tokens",
    attr.LLM_COST_USAGE_CACHE_WRITE_5M,
    attr.LLM_COST_USAGE_CACHE_WRITE_1H,
    "anthropic.usage.cache_creation.ephemeral_5m_input_tokens",
)
TEXTS = (
    attr.LLM_COST_COST_STATUS,
    attr.LLM_COST_USAGE_SOURCE,
    attr.GEN_AI_PROVIDER_NAME,
    attr.GEN_AI_SYSTEM,
    attr.GEN_AI_RESPONSE_MODEL,
    attr.GEN_AI_REQUEST_MODEL,
    attr.GEN_AI_RESPONSE_ID,
    attr.GEN_AI_USAGE_COST_AMOUNT,
    attr.GEN_AI_USAGE_COST_CURRENCY,
    "openai.response.service_tier",
)
HOSTILE = st.one_of(
    st.none(),
    st.integers(-(2**60), 2**60),
    st.sampled_from([2**53, 2**53 + 1, -1, True, False, "", "12", "1e999", "NaN", "-1"]),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=6),
    st.lists(st.integers(), max_size=2),
    st.just(Decimal("0.5")),
)
# Mostly plausible values (so that spans naming several figures still take the inline path), now and
# then hostile ones, and now and then a name the inline path hands over (by-duration writes, old names).
INPUT = st.one_of(st.integers(1000, 5000), st.integers(1000, 5000), st.integers(0, 5000), HOSTILE)
PART = st.one_of(st.integers(0, 300), st.integers(0, 300), st.integers(0, 1500), HOSTILE)
TEXT = st.one_of(
    st.sampled_from(["priced", "estimated", "provider", "OpenAI", "gpt-4o", "resp-1", "USD", "0.0012"]),
    st.sampled_from(["priced", "unpriced", "Anthropic", "claude", "r2", "EUR", 0.5, 7]),
    HOSTILE,
)
STATUS = st.one_of(st.sampled_from(["priced", "estimated", "unpriced"]), TEXT)
COMMON_NAMES = (
    attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS,
    attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS,
    attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS,
)
SPANS = st.fixed_dictionaries(
    {
        attr.LLM_COST_COST_STATUS: TEXT,
        attr.GEN_AI_USAGE_INPUT_TOKENS: INPUT,
        attr.GEN_AI_USAGE_OUTPUT_TOKENS: INPUT,
    },
    optional={
        **{name: PART for name in COMMON_NAMES},
        **{name: TEXT for name in TEXTS if name != attr.LLM_COST_COST_STATUS},
    },
)
RARE = st.one_of(
    st.just({}),
    st.just({}),
    st.dictionaries(st.sampled_from(TOKENS + TEXTS), st.one_of(PART, HOSTILE), max_size=2),
)


@settings(max_examples=2000, deadline=None)
@given(
    attributes=SPANS,
    rare=RARE,
    drop=st.sampled_from([(), (), (attr.LLM_COST_COST_STATUS,), (attr.GEN_AI_USAGE_INPUT_TOKENS,)]),
)
def test_inline_reading_matches_the_general_reader(attributes, rare, drop):
    attributes.update(rare)
    for name in drop:
        attributes.pop(name, None)
    assert read_call_usage(attributes) == read_span_usage(attributes)


# Spans the inline path reads itself (valid counts under any of their names, any mix of the rest), and
# the closest ones it hands over (reasoning above output, cache writes by duration).
INLINE = st.fixed_dictionaries(
    {
        attr.LLM_COST_COST_STATUS: st.sampled_from(["priced", "estimated", "unpriced"]),
        attr.GEN_AI_USAGE_INPUT_TOKENS: st.integers(3000, 5000),
        attr.GEN_AI_USAGE_OUTPUT_TOKENS: st.integers(500, 900),
    },
    optional={
        **{name: st.integers(0, 1000) for name in TOKENS[4:9]},  # cache reads and writes, any name
        **{
            name: st.integers(0, 1000) for name in TOKENS[9:11]
        },  # reasoning, either name, above output or not
        **{name: st.integers(0, 50) for name in TOKENS[11:]},  # cache writes by duration: handed over
        attr.LLM_COST_USAGE_SOURCE: st.sampled_from(["estimated", "provider", "x", 1]),
        attr.GEN_AI_PROVIDER_NAME: st.sampled_from(["OpenAI", "", 5, None]),
        attr.GEN_AI_SYSTEM: st.sampled_from(["Anthropic", "", [], None]),
        attr.GEN_AI_RESPONSE_MODEL: st.sampled_from(["gpt-4o", "", 7, None]),
        attr.GEN_AI_REQUEST_MODEL: st.sampled_from(["gpt-4o-mini", "", None]),
        attr.GEN_AI_RESPONSE_ID: st.sampled_from(["resp-1", "", 3, None]),
        attr.GEN_AI_USAGE_COST_AMOUNT: st.sampled_from([0.0012, "0.002", 1e7, -1, "x", True, None]),
        # Names the general reader may come to read on a priced span: the inline path must follow it.
        "llm_cost.cost.input": st.sampled_from([0.001, "0.002", -1]),
        "llm_cost.cost.web_searches": st.sampled_from([0.01, None]),
        "llm_cost.cost.unpriced_units": st.sampled_from([["input_audio"], []]),
        "openai.response.service_tier": st.sampled_from(["flex", "default", ""]),
        attr.GEN_AI_USAGE_COST_CURRENCY: st.sampled_from(["USD", "EUR"]),
        attr.GEN_AI_USAGE_COST: st.sampled_from([0.5, "0.1"]),
    },
)


@settings(max_examples=500, deadline=None)
@given(attributes=INLINE)
def test_spans_read_inline_match_the_general_reader(attributes):
    assert read_call_usage(attributes) == read_span_usage(attributes)


def test_the_common_span_is_read_inline_with_every_figure():
    attributes = {
        attr.LLM_COST_COST_STATUS: "priced",
        attr.GEN_AI_USAGE_INPUT_TOKENS: 1200,
        attr.GEN_AI_USAGE_OUTPUT_TOKENS: 80,
        attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 1000,
        attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 30,
        attr.GEN_AI_PROVIDER_NAME: "OpenAI",
        attr.GEN_AI_RESPONSE_MODEL: "gpt-4o",
        attr.GEN_AI_RESPONSE_ID: "resp-1",
        attr.GEN_AI_USAGE_COST_AMOUNT: 0.0042,
    }
    found = read_call_usage(attributes)
    assert found == read_span_usage(attributes)
    assert found.usage == Usage(1200, 80, 1000, 0, 30, None, None, "provider")
    assert (found.provider, found.model, found.response_id) == ("openai", "gpt-4o", "resp-1")
    assert (found.cost_status, found.cost_amount) == ("priced", Decimal("0.0042"))


def test_counts_at_the_edge_of_valid_are_read_as_the_general_reader_reads_them():
    base = {attr.LLM_COST_COST_STATUS: "priced", attr.GEN_AI_USAGE_INPUT_TOKENS: 100}
    edges = [
        {attr.GEN_AI_USAGE_OUTPUT_TOKENS: 10, attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 10},
        {attr.GEN_AI_USAGE_OUTPUT_TOKENS: 10, attr.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: 11},
        {
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: 0,
            attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 60,
            "gen_ai.usage.cache_creation_input_tokens": 40,
        },
        {
            attr.GEN_AI_USAGE_OUTPUT_TOKENS: 0,
            attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: 60,
            "gen_ai.usage.cache_creation_input_tokens": 41,
        },
        {attr.GEN_AI_USAGE_OUTPUT_TOKENS: 2**53},
        {attr.GEN_AI_USAGE_OUTPUT_TOKENS: 2**53 + 1},
    ]
    for edge in edges:
        attributes = {**base, **edge}
        assert read_call_usage(attributes) == read_span_usage(attributes), edge
