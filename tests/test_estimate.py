"""Offline token estimates for streams without usage, and their extrapolation over chunks not kept."""

from __future__ import annotations

from otel_llm_cost._estimate import estimate_tokens, extrapolate_tokens


def test_latin_text_is_about_four_characters_a_token() -> None:
    assert estimate_tokens("") == 0
    assert estimate_tokens("abcd") == 1
    assert estimate_tokens("abcde") == 2


def test_cjk_characters_are_a_token_each() -> None:
    assert estimate_tokens("你好世界") == 4


def test_nothing_unseen_keeps_the_estimate() -> None:
    assert extrapolate_tokens(37, 8, 0) == 37


def test_unseen_chunks_are_scaled_by_the_seen_tokens_per_chunk() -> None:
    assert extrapolate_tokens(20, 10, 90) == 200  # 2 a chunk, 100 chunks


def test_each_unseen_chunk_counts_at_least_one_token() -> None:
    assert extrapolate_tokens(0, 5, 40) == 40  # the kept chunks were empty deltas
    assert extrapolate_tokens(0, 0, 12) == 12  # no content chunk kept at all
