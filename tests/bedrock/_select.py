"""Select the Bedrock runtime recordings the botocore tests replay, copy them and write ``recordings.json``.

    python tests/bedrock/_select.py [/path/to/shared/cassettes]

Selected: every recording with a Converse, ConverseStream, InvokeModel or InvokeModelWithResponseStream
exchange, per ``catalogue.jsonl``, copied byte for byte under ``tests/bedrock/cassettes/`` (same relative
path; the shared ``NOTICE.md`` beside them), apart from ``tests/cassettes`` and its ``index.json``.
``recordings.json`` holds per exchange the ground truth read from the recorded bytes, as Bedrock reports
it: Converse's ``usage`` block, ConverseStream's ``metadata`` event, InvokeModel's
``X-Amzn-Bedrock-*-Token-Count`` headers, and the ``amazon-bedrock-invocationMetrics`` of a response
stream's last chunk. Bedrock's input counts exclude cache reads and writes; they are kept apart here.
"""

from __future__ import annotations

import base64
import json
import shutil
import sys
import urllib.parse
from pathlib import Path
from typing import Any

from botocore.eventstream import EventStreamBuffer

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from replay import Interaction, load  # noqa: E402

CASSETTES = HERE / "cassettes"

DEFAULT_SOURCE = HERE.parents[2] / "shared" / "cassettes"  # ../shared beside the project
OPERATIONS = {
    "/converse": "Converse",
    "/converse-stream": "ConverseStream",
    "/invoke": "InvokeModel",
    "/invoke-with-response-stream": "InvokeModelWithResponseStream",
}
SELECTION_NOTE = (
    "This folder holds the Bedrock runtime recordings `tests/bedrock/_select.py` selected (Converse,\n"
    "ConverseStream, InvokeModel, InvokeModelWithResponseStream), copied byte for byte and listed in\n"
    "`../recordings.json`.\n"
)
API_NAMES = {"bedrock.converse", "bedrock.converse-stream", "bedrock.invoke", "bedrock.invoke-stream"}


def operation_and_model(path: str) -> tuple[str, str] | None:
    for suffix, operation in sorted(OPERATIONS.items(), key=lambda item: -len(item[0])):
        if path.startswith("/model/") and path.endswith(suffix):
            return operation, urllib.parse.unquote(path[len("/model/") : -len(suffix)])
    return None


def frames(body: bytes) -> list[tuple[str | None, dict[str, Any]]]:
    buffer = EventStreamBuffer()
    buffer.add_data(body)
    out = []
    for message in buffer:
        response = message.to_response_dict()
        payload = json.loads(response["body"]) if response["body"] else {}
        if "bytes" in payload:
            payload = json.loads(base64.b64decode(payload["bytes"]))
        out.append((response["headers"].get(":event-type"), payload))
    return out


def truth(operation: str, inter: Interaction) -> dict[str, Any] | None:
    """Bedrock's own counts of the exchange: input (cache excluded), output, cache read, cache write."""
    if operation == "Converse":
        usage = inter.body_json().get("usage", {})
        return _counts(usage, "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")
    if operation == "InvokeModel":
        headers = {k.lower(): v for k, v in inter.headers}
        prefix = "x-amzn-bedrock-"
        return _counts(
            {k[len(prefix) :]: int(v) for k, v in headers.items() if k.startswith(prefix) and v.isdigit()},
            "input-token-count",
            "output-token-count",
            "cache-read-input-token-count",
            "cache-write-input-token-count",
        )
    events = frames(inter.body)
    if operation == "ConverseStream":
        usage = next((p["usage"] for kind, p in events if kind == "metadata" and "usage" in p), {})
        return _counts(usage, "inputTokens", "outputTokens", "cacheReadInputTokens", "cacheWriteInputTokens")
    metrics = events[-1][1].get("amazon-bedrock-invocationMetrics", {}) if events else {}
    if not metrics and events:  # no metrics (a guardrail's answer): the family's own final counts
        last = events[-1][1]
        for inp, out in (
            ("inputTextTokenCount", "totalOutputTextTokenCount"),
            ("prompt_token_count", "generation_token_count"),
        ):
            if inp in last and out in last:
                return _counts(last, inp, out, "-", "-")
    return _counts(
        metrics,
        "inputTokenCount",
        "outputTokenCount",
        "cacheReadInputTokenCount",
        "cacheWriteInputTokenCount",
    )


def _counts(block: dict[str, Any], inp: str, out: str, read: str, write: str) -> dict[str, Any] | None:
    if inp not in block:
        return None
    return {
        "input": int(block[inp]),
        "output": int(block.get(out, 0)),
        "cache_read": int(block.get(read, 0)),
        "cache_write": int(block.get(write, 0)),
    }


def main(source: Path) -> None:
    recordings = []
    for line in (source / "catalogue.jsonl").read_text().splitlines():
        row = json.loads(line)
        if not API_NAMES & set(row["apis"]):
            continue
        inters = load(source / row["file"])
        entries = []
        for meta, inter in zip(row["interactions"], inters, strict=True):
            found = operation_and_model(inter.path or "") if meta["api"] in API_NAMES else None
            if found is None:
                continue
            operation, model = found
            entries.append(
                {
                    "index": inter.index,
                    "operation": operation,
                    "model": model,
                    "region": inter.host.split(".")[1],
                    "status": inter.status,
                    "usage": truth(operation, inter) if inter.status == 200 else None,
                }
            )
        if entries:
            target = CASSETTES / row["file"]
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copyfile(source / row["file"], target)
            recordings.append({"file": row["file"], "interactions": entries})
    notice = (source / "NOTICE.md").read_text().rstrip() + "\n\n" + SELECTION_NOTE
    (CASSETTES / "NOTICE.md").write_text(notice)
    (HERE / "recordings.json").write_text(json.dumps(recordings, indent=1) + "\n")
    print(f"{len(recordings)} recordings, {sum(len(r['interactions']) for r in recordings)} exchanges")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
