"""Select the recordings the SDK tests replay, copy them here and write ``index.json``.

    python tests/cassettes/_select.py [/path/to/shared/cassettes]

Selected: every recording with an OpenAI-family chat completions, Responses or embeddings exchange (OpenAI,
Azure OpenAI and compatible hosts) or an Anthropic ``messages`` exchange, per ``catalogue.jsonl``. Files with
identical bytes are copied once (the others are listed under ``same_as``). ``index.json`` holds, per file and
per in-scope interaction, the ground truth parsed from the recorded bodies: status, model, usage.
"""

from __future__ import annotations

import hashlib
import json
import shutil
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from replay import Interaction, load  # noqa: E402

DEFAULT_SOURCE = HERE.parents[2] / "shared" / "cassettes"
OPENAI_FAMILY = {"openai", "azure-openai", "groq", "deepseek", "together", "openrouter", "mistral", "local"}
OPENAI_APIS = {"chat.completions": "chat/completions", "responses": "responses", "embeddings": "embeddings"}
SELECTION_NOTE = (
    "This folder holds the selection `_select.py` made from them (OpenAI-family chat completions,\n"
    "Responses and embeddings; Anthropic messages), copied byte for byte and listed in `index.json`."
)
TERMINAL_RESPONSE_EVENTS = {"response.completed", "response.incomplete", "response.failed"}


def in_scope(provider: str, api: str, inter: Interaction) -> bool:
    if provider == "anthropic":
        return api == "messages" and inter.endpoint == "messages"
    return provider in OPENAI_FAMILY and inter.endpoint == OPENAI_APIS.get(api)


def candidates(source: Path) -> Iterator[tuple[dict[str, Any], list[Interaction], list[int]]]:
    for line in (source / "catalogue.jsonl").read_text().splitlines():
        row = json.loads(line)
        if not {"chat.completions", "responses", "embeddings", "messages"} & set(row["apis"]):
            continue
        inters = load(source / row["file"])
        picked = [
            i
            for i, (meta, inter) in enumerate(zip(row["interactions"], inters, strict=True))
            if in_scope(meta["provider"], meta["api"], inter)
        ]
        if picked:
            yield row, inters, picked


def is_stream(inter: Interaction) -> bool:
    req = inter.request_json()
    return inter.is_sse or (isinstance(req, dict) and req.get("stream") is True)


def ground_truth(api: str, inter: Interaction) -> tuple[dict[str, Any] | None, str | None]:
    """The usage block the provider sent, and where in the body it sat."""
    if inter.status >= 400:
        return None, None
    if not inter.is_sse:
        body = inter.body_json()
        usage = body.get("usage") if isinstance(body, dict) else None
        return usage, "usage" if usage is not None else None
    events = inter.sse_data()
    if api == "messages":
        return anthropic_stream_usage(events)
    if api == "responses":
        found = [e["response"]["usage"] for e in events if e.get("type") in TERMINAL_RESPONSE_EVENTS]
        found = [u for u in found if u is not None]
        return (found[-1], "response.usage") if found else (None, None)
    for where in ("usage", "x_groq"):
        found = [e[where] for e in events if isinstance(e, dict) and e.get(where)]
        if where == "x_groq":
            found = [x["usage"] for x in found if x.get("usage")]
        if found:
            return found[-1], "usage" if where == "usage" else "x_groq.usage"
    return None, None


def anthropic_stream_usage(events: list[Any]) -> tuple[dict[str, Any] | None, str | None]:
    """``message_start`` usage updated by each ``message_delta``'s non-null fields (cumulative counts)."""
    usage: dict[str, Any] | None = None
    for event in events:
        if event.get("type") == "message_start":
            usage = dict(event["message"].get("usage") or {})
        elif event.get("type") == "message_delta" and usage is not None:
            usage.update({k: v for k, v in (event.get("usage") or {}).items() if v is not None})
    return usage, ("message_start+message_delta" if usage is not None else None)


def model_of(inter: Interaction) -> str | None:
    body = inter.body_json()
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        return body["model"]
    for event in inter.sse_data() if inter.is_sse else []:
        for holder in (event, event.get("message"), event.get("response")):
            if isinstance(holder, dict) and isinstance(holder.get("model"), str):
                return holder["model"]
    req = inter.request_json()
    return req.get("model") if isinstance(req, dict) else None


def unreplayable_reason(inter: Interaction) -> str | None:
    if not inter.body:
        return "response body not recorded (empty)"
    if inter.body_json() is None and not inter.is_sse:
        return "response body is not JSON"
    return None


def describe(row: dict[str, Any], inter: Interaction) -> dict[str, Any]:
    meta = row["interactions"][inter.index]
    api = "messages" if meta["provider"] == "anthropic" else meta["api"]
    usage, where = ground_truth(api, inter)
    reason = unreplayable_reason(inter)
    return {
        "index": inter.index,
        "provider": meta["provider"],
        "api": api,
        "method": inter.method,
        "path": inter.path,
        "query": inter.query,
        "stream": is_stream(inter),
        "status": inter.status,
        "model": model_of(inter),
        "usage": usage,
        "usage_at": where,
        "request": "recorded" if inter.request_body is not None else "absent",
        "replayable": reason is None,
        "reason": reason,
    }


def entry(row: dict[str, Any], inters: list[Interaction], picked: list[int]) -> dict[str, Any]:
    items = [describe(row, inters[i]) for i in picked]
    return {
        "file": row["file"],
        "repo": row["repo"],
        "license": row["license"],
        "same_as": [],
        "providers": sorted({i["provider"] for i in items}),
        "apis": sorted({i["api"] for i in items}),
        "streaming": any(i["stream"] for i in items),
        "statuses": sorted({i["status"] for i in items}),
        "other_interactions": len(inters) - len(items),
        "replayable": all(i["replayable"] for i in items),
        "interactions": items,
    }


def notice_rows(source: Path, folders: set[str]) -> str:
    """The shared NOTICE with only the rows of the folders copied here, plus a line on what was copied."""
    out = []
    for line in (source / "NOTICE.md").read_text().splitlines():
        is_row = line.startswith("| `")
        if is_row and line.split("`")[1].rstrip("/") not in folders:
            continue
        out.append(line)
    return "\n".join([*out, "", SELECTION_NOTE]) + "\n"


def main(source: Path = DEFAULT_SOURCE) -> None:
    index: list[dict[str, Any]] = []
    by_hash: dict[str, dict[str, Any]] = {}
    for row, inters, picked in sorted(candidates(source), key=lambda c: c[0]["file"]):
        digest = hashlib.sha256((source / row["file"]).read_bytes()).hexdigest()
        if digest in by_hash:
            by_hash[digest]["same_as"].append(row["file"])
            continue
        by_hash[digest] = entry(row, inters, picked)
        index.append(by_hash[digest])
    for old in HERE.iterdir():
        if old.is_dir():
            shutil.rmtree(old)
    for item in index:
        dest = HERE / item["file"]
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / item["file"], dest)
    (HERE / "index.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    (HERE / "NOTICE.md").write_text(notice_rows(source, {i["file"].split("/")[0] for i in index}))
    print(f"{len(index)} files ({sum(len(i['same_as']) for i in index)} duplicates skipped)")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
