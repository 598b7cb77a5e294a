"""Hypothesis strategies for malformed provider output: token counts, usage blocks, JSON-like junk.

Values are what a JSON decoder can hand the SDKs: Python's ``json`` accepts ``NaN`` and ``Infinity``, and
integers of any size, so those are in.
"""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

# A token count as a provider might send it: sane, missing, negative, huge, float, string, wrong type.
TOKEN: st.SearchStrategy[Any] = st.one_of(
    st.integers(0, 5000),
    st.none(),
    st.integers(-(2**70), 2**70),
    st.integers(2**62, 2**64),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["12", "-5", "1e400", "nan", "Infinity", "", "ten", 1e308, -0.0, 2.5]),
    st.booleans(),
    st.just([]),
    st.just({}),
)

SCALAR: st.SearchStrategy[Any] = st.one_of(
    st.none(), st.booleans(), st.integers(-(2**66), 2**66), st.floats(), st.text(max_size=6)
)
JSON: st.SearchStrategy[Any] = st.recursive(
    SCALAR,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=6), inner, max_size=3)
    ),
    max_leaves=8,
)
# A field that is usually well-typed but sometimes junk.
TEXT: st.SearchStrategy[Any] = st.one_of(st.text(max_size=8), SCALAR)


def block(*names: str, nested: dict[str, st.SearchStrategy[Any]] | None = None) -> st.SearchStrategy[Any]:
    """A dict with any subset of ``names`` as token counts (and ``nested`` sub-blocks), or junk."""
    optional: dict[str, st.SearchStrategy[Any]] = {name: TOKEN for name in names}
    optional.update(nested or {})
    optional["extra_field"] = JSON
    return st.one_of(st.fixed_dictionaries({}, optional=optional), st.none(), SCALAR)


OPENAI_CHAT_USAGE = block(
    "prompt_tokens",
    "completion_tokens",
    "total_tokens",
    "prompt_cache_hit_tokens",
    "cached_tokens",
    "cost",
    nested={
        "prompt_tokens_details": block("cached_tokens", "cache_write_tokens", "audio_tokens"),
        "completion_tokens_details": block("reasoning_tokens", "audio_tokens"),
    },
)
OPENAI_RESPONSES_USAGE = block(
    "input_tokens",
    "output_tokens",
    "total_tokens",
    "cost",
    nested={
        "input_tokens_details": block("cached_tokens", "cache_write_tokens"),
        "output_tokens_details": block("reasoning_tokens"),
    },
)
OPENAI_EMBEDDINGS_USAGE = block("prompt_tokens", "total_tokens")
ANTHROPIC_USAGE = block(
    "input_tokens",
    "output_tokens",
    "cache_read_input_tokens",
    "cache_creation_input_tokens",
    nested={
        "cache_creation": block("ephemeral_5m_input_tokens", "ephemeral_1h_input_tokens"),
        "output_tokens_details": block("thinking_tokens"),
        "service_tier": TEXT,
    },
)

OPENAI_MODELS = st.sampled_from(
    ["gpt-4o-mini", "gpt-4o", "o3-mini", "text-embedding-3-small", "no-such-model"]
)
ANTHROPIC_MODELS = st.sampled_from(["claude-haiku-4-5-20251001", "claude-opus-4-5", "claude-x"])


def maybe(value: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    """``value`` mostly; sometimes missing (``None``) or junk."""
    return st.one_of(value, value, st.none(), SCALAR)
