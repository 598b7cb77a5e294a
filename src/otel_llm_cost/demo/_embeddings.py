"""``POST /v1/embeddings`` in OpenAI's wire format: deterministic unit vectors, float or base64."""

from __future__ import annotations

import base64
import hashlib
import math
import random
import struct
from collections.abc import Mapping
from typing import Any

from otel_llm_cost.demo import _script as script
from otel_llm_cost.demo._wire import BadRequest, JsonReply, Reply, Session, require_model

_DIMENSIONS = {"text-embedding-3-large": 3072}
_DEFAULT_DIMENSIONS = 1536


def embeddings(body: Mapping[str, Any], session: Session) -> Reply:
    """Answer an embeddings request: one vector per input, the same vector for the same text.

    Args:
        body: the request JSON (``input``, ``model``, optional ``dimensions`` and ``encoding_format``).
        session: the server's shared state (unused: embeddings are not cached).

    Returns:
        The embedding list with its usage block.
    """
    model = require_model(body)
    raw = body.get("input")
    inputs = _inputs(raw)
    size = body.get("dimensions") or _DIMENSIONS.get(model, _DEFAULT_DIMENSIONS)
    if not isinstance(size, int) or size <= 0:
        raise BadRequest("'dimensions' must be a positive integer")
    as_base64 = body.get("encoding_format") == "base64"
    data = [
        {"object": "embedding", "index": i, "embedding": _encode(_vector(model, item, size), as_base64)}
        for i, item in enumerate(inputs)
    ]
    tokens = script.embedding_input_tokens(raw)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return JsonReply({"object": "list", "data": data, "model": model, "usage": usage})


def _inputs(raw: Any) -> list[Any]:
    if isinstance(raw, str) and raw:
        return [raw]
    if isinstance(raw, list) and raw and all(isinstance(v, int) for v in raw):
        return [raw]  # one input given as token ids
    if isinstance(raw, list) and raw:
        return raw
    raise BadRequest("'input' must be a non-empty string or list")


def _vector(model: str, item: Any, size: int) -> list[float]:
    seed = hashlib.sha256(f"{model}\0{item!r}".encode()).digest()
    rng = random.Random(seed)
    values = [rng.gauss(0.0, 1.0) for _ in range(size)]
    norm = math.sqrt(sum(v * v for v in values)) or 1.0
    return [v / norm for v in values]


def _encode(vector: list[float], as_base64: bool) -> list[float] | str:
    if not as_base64:
        return vector
    return base64.b64encode(struct.pack(f"<{len(vector)}f", *vector)).decode("ascii")
