"""Every recorded Bedrock runtime exchange, replayed through the real boto3 client over loopback.

Each exchange is served alone to one call made as an app makes it (the response body or stream read to
its end). Each call must give exactly one span whose token attributes equal Bedrock's recorded counts
(cache reads and writes folded into the input), whose cost equals genai-prices' ``calc_price`` of that
usage under Bedrock (or is ``unpriced`` exactly where genai-prices has no price), and in which no
credential, session token or signature appears.
"""

from __future__ import annotations

from collections import Counter

import pytest
from botocore.exceptions import ClientError

from bedrock_replay import SECRETS, Case, call, cases, client, expected_cost, expected_tokens
from otel_llm_cost import attributes as attr
from replay import ReplayServer

CASES = cases()
OK = [case for case in CASES if case.status == 200 and case.usage is not None]
ERRORS = [case for case in CASES if case.status != 200]


def _replay(case: Case, exporter) -> list:
    with ReplayServer([case.interaction()], prefix="") as server:
        bedrock = client(server.url, case.region)
        try:
            call(bedrock, case)
        except ClientError:
            if case.status == 200:
                raise
        assert not server.unmatched
    return list(exporter.get_finished_spans())


def _assert_no_secret(span) -> None:
    for key, value in span.attributes.items():
        text = f"{key}={value}"
        for secret in SECRETS:
            assert secret not in text, f"{secret!r} leaked into {key}"


def test_the_recordings_cover_every_operation_and_family():
    assert Counter(case.operation for case in OK) == {
        "InvokeModel": 85,
        "InvokeModelWithResponseStream": 35,
        "ConverseStream": 27,
        "Converse": 24,
    }
    assert {"anthropic", "amazon", "meta", "mistral", "cohere"} <= {case.family for case in OK}


@pytest.mark.parametrize("case", OK, ids=lambda case: case.id)
def test_replay_gives_one_span_with_recorded_usage_and_cost(case: Case, instrumented, exporter):
    spans = _replay(case, exporter)

    assert len(spans) == 1
    span = spans[0].attributes
    tokens = expected_tokens(case.usage)
    assert span[attr.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert span[attr.GEN_AI_REQUEST_MODEL] == case.model
    assert span[attr.GEN_AI_USAGE_INPUT_TOKENS] == tokens["input"]
    assert span[attr.GEN_AI_USAGE_OUTPUT_TOKENS] == tokens["output"]
    assert span.get(attr.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS, 0) == tokens["cache_read"]
    assert span.get(attr.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS, 0) == tokens["cache_write"]
    assert span[attr.LLM_COST_USAGE_SOURCE] == "provider"
    cost = expected_cost(case.model, case.usage)
    if cost is None:
        assert span[attr.LLM_COST_COST_STATUS] == "unpriced"
        assert attr.GEN_AI_USAGE_COST_AMOUNT not in span
    else:
        assert span[attr.LLM_COST_COST_STATUS] == "priced"
        assert span[attr.GEN_AI_USAGE_COST_AMOUNT] == pytest.approx(float(cost), abs=1e-12)
    if case.operation.endswith("Stream"):
        assert span[attr.LLM_COST_STREAM_OUTCOME] == "completed"
        assert span[attr.GEN_AI_REQUEST_STREAM] is True
    _assert_no_secret(spans[0])


@pytest.mark.parametrize("case", ERRORS, ids=lambda case: case.id)
def test_replayed_error_gives_one_failed_span(case: Case, instrumented, exporter):
    spans = _replay(case, exporter)

    assert len(spans) == 1
    span = spans[0].attributes
    assert span[attr.ERROR_TYPE].startswith("botocore.")
    assert attr.GEN_AI_USAGE_INPUT_TOKENS not in span
    assert span[attr.GEN_AI_REQUEST_MODEL] == case.model
    _assert_no_secret(spans[0])
