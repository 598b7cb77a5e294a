"""``Usage.units`` / ``Usage.iterations`` (#17): invariants under hostile input, and the cost they give."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from otel_llm_cost.pricing import Pricer
from otel_llm_cost.usage import COUNT_UNITS, MODALITIES, TOKEN_UNITS, Iteration, Usage

_PRICER = Pricer()
_KEYS = st.sampled_from(sorted({*TOKEN_UNITS, *COUNT_UNITS, "input_text_tokens", "bogus_units"}))
_VALUES = st.one_of(
    st.integers(-10, 10**7), st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=3), st.none()
)


@given(
    inp=st.integers(0, 10**6),
    out=st.integers(0, 10**6),
    cache_read=st.integers(0, 10**6),
    units=st.dictionaries(_KEYS, _VALUES, max_size=8),
)
def test_units_never_break_the_invariants(inp: int, out: int, cache_read: int, units: dict) -> None:
    usage = Usage.of(inp, out, cache_read_tokens=cache_read, units=units)
    found = usage.units or {}
    assert set(found) <= {*TOKEN_UNITS, *COUNT_UNITS}
    assert all(type(count) is int and count > 0 for count in found.values())
    for total in ("input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens"):
        parts = sum(count for key, count in found.items() if TOKEN_UNITS.get(key) == total)
        assert parts <= getattr(usage, total)
    for modality in MODALITIES:
        cached = found.get(f"cache_{modality}_read_tokens", 0) + found.get(
            f"cache_{modality}_write_tokens", 0
        )
        assert cached <= found.get(f"input_{modality}_tokens", 0)
    assert usage.cache_read_tokens + usage.cache_write_tokens <= usage.input_tokens


@given(
    units=st.dictionaries(_KEYS, st.integers(0, 10**6), max_size=8),
    model=st.sampled_from(["gpt-realtime", "gemini-2.5-flash", "gpt-image-1", "claude-sonnet-4-6", "gpt-4o"]),
    advisor=st.sampled_from([None, "claude-opus-4-8", "no-such-model"]),
)
def test_pricing_any_units_never_raises_and_its_parts_add_up(units: dict, model: str, advisor: str | None):
    steps = [Iteration("advisor_message", advisor, Usage.of(1000, 10))] if advisor else None
    usage = Usage.of(5_000_000, 3_000_000, cache_read_tokens=1_000_000, units=units, iterations=steps)
    cost = _PRICER.price(usage, model, None)
    assert cost.status in {"priced", "partial"}
    assert cost.amount is not None and cost.amount >= 0
    parts = cost.input + cost.output + cost.cache_read + cost.cache_write + cost.reasoning
    assert abs(parts + sum((value for _, value in cost.parts), Decimal(0)) - cost.amount) < Decimal("1e-12")
    if advisor == "no-such-model":
        assert "advisor_message:no-such-model" in cost.unpriced_units
    # These models price every modality at or above their text rate: more units never cost less.
    # (Compared at the same totals: Usage.of may have raised them to hold the modality counts.)
    same_totals = Usage.of(
        usage.input_tokens,
        usage.output_tokens,
        cache_read_tokens=usage.cache_read_tokens,
        cache_write_tokens=usage.cache_write_tokens,
    )
    text_only = _PRICER.price(same_totals, model, None)
    assert text_only.amount is not None
    assert cost.amount >= text_only.amount
