"""Helpers of the Bedrock tests: the recordings, a real boto3 client on loopback, and the expected figures."""

from __future__ import annotations

import base64
import json
import warnings
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import boto3
import genai_prices
from botocore.config import Config

from replay import Interaction, load

HERE = Path(__file__).resolve().parent / "bedrock"
CASSETTES = HERE / "cassettes"  # the Bedrock recordings, apart from the SDK selection in tests/cassettes
# Dummy credentials, distinctive so a test can prove none of them reaches a span.
ACCESS_KEY = "AKIDLEAKCHECKACCESS1"
SECRET_KEY = "leak-check-secret-key-0123456789abcdefghij"
SESSION_TOKEN = "leak-check-session-token-FQoGZXIvYXdzEJr"
SECRETS = (ACCESS_KEY, SECRET_KEY, SESSION_TOKEN, "AWS4-HMAC-SHA256", "Signature=", "X-Amz-Security-Token")
FAMILIES = ("anthropic", "amazon", "meta", "mistral", "cohere", "ai21")
_SESSION = boto3.session.Session()  # one loader: service models are parsed once per test run
_CONFIG = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=10)
# Blob fields of the Converse API: base64 text in the recorded JSON, bytes as boto3 takes them.
_BLOB_PARENTS = ("image", "document", "video")


@dataclass(frozen=True)
class Case:
    file: str
    index: int
    operation: str
    model: str
    region: str
    status: int
    usage: dict[str, int] | None

    @property
    def family(self) -> str:
        parts = self.model.rsplit("/", 1)[-1].split(".")
        for part in parts[:2]:
            if part in FAMILIES:
                return part
        return "other"

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.file.rsplit('/', 1)[-1]}#{self.index}"

    def recorded(self) -> Interaction:
        return load(CASSETTES / self.file)[self.index]

    def interaction(self) -> Interaction:
        # Served to whatever request comes: one exchange per server, so the path needs no matching.
        return self.recorded().with_(method=None, path=None)

    def request_json(self) -> Any:
        return self.recorded().request_json()


def cases() -> list[Case]:
    recordings = json.loads((HERE / "recordings.json").read_text())
    return [Case(r["file"], **entry) for r in recordings for entry in r["interactions"]]


def client(endpoint_url: str, region: str = "us-east-1") -> Any:
    return _SESSION.client(
        "bedrock-runtime",
        endpoint_url=endpoint_url,
        region_name=region,
        aws_access_key_id=ACCESS_KEY,
        aws_secret_access_key=SECRET_KEY,
        aws_session_token=SESSION_TOKEN,
        config=_CONFIG,
    )


def params(case: Case) -> dict[str, Any]:
    """The boto3 parameters that send the recorded request."""
    recorded = case.recorded()
    if case.operation.startswith("Converse"):
        body = recorded.request_json() or {}
        return {**_blobs_as_bytes(body), "modelId": case.model}
    return {"modelId": case.model, "body": recorded.request_body or b"{}"}


def _blobs_as_bytes(value: Any, parent: str | None = None) -> Any:
    if isinstance(value, dict):
        out = {k: _blobs_as_bytes(v, k) for k, v in value.items()}
        if parent == "source" and isinstance(out.get("bytes"), str):
            out["bytes"] = base64.b64decode(out["bytes"])
        return out
    if isinstance(value, list):
        return [_blobs_as_bytes(item, parent) for item in value]
    return value


def call(bedrock: Any, case: Case) -> Any:
    """Make the recorded call as an app would, reading the whole response (body or stream)."""
    kwargs = params(case)
    if case.operation == "Converse":
        return bedrock.converse(**kwargs)
    if case.operation == "ConverseStream":
        return list(bedrock.converse_stream(**kwargs)["stream"])
    if case.operation == "InvokeModel":
        return json.loads(bedrock.invoke_model(**kwargs)["body"].read())
    return list(bedrock.invoke_model_with_response_stream(**kwargs)["body"])


def expected_tokens(usage: dict[str, int]) -> dict[str, int]:
    cache = usage["cache_read"] + usage["cache_write"]
    return {
        "input": usage["input"] + cache,
        "output": usage["output"],
        "cache_read": usage["cache_read"],
        "cache_write": usage["cache_write"],
    }


def expected_cost(model: str, usage: dict[str, int]) -> Decimal | None:
    """genai-prices' price of the recorded usage under Bedrock (``aws``), or ``None`` when it has none."""
    tokens = expected_tokens(usage)
    theirs = genai_prices.Usage(
        input_tokens=tokens["input"],
        output_tokens=tokens["output"],
        cache_read_tokens=tokens["cache_read"],
        cache_write_tokens=tokens["cache_write"],
    )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return genai_prices.calc_price(theirs, model, provider_id="aws").total_price
    except LookupError:
        return None
