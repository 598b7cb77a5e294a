"""Copy the Gemini / Vertex AI, Cohere and Ollama recordings the family tests replay and write
``tests/cassettes/families.json``.

    python tests/families/_select_families.py [/path/to/shared/cassettes]

Selected from ``catalogue.jsonl``: every recording with a Gemini, Vertex AI, Cohere or Ollama exchange, and
OpenAI's images and audio. Per interaction the index holds what the tests check against, parsed from the
recorded bodies here and not by the code under test: status, stream, the room that should read it, model and
the raw usage block (the last one a stream reports).
"""

from __future__ import annotations

import json
import shutil
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
TESTS = HERE.parent
sys.path[:0] = [str(TESTS), str(HERE)]

from families_recorded import payloads  # noqa: E402

from replay import Interaction, load  # noqa: E402

DEFAULT_SOURCE = TESTS.parents[1] / "shared" / "cassettes"
FAMILIES = {"gemini", "vertexai", "cohere", "ollama"}
MEDIA_APIS = {"images", "audio"}
# Path endings of the exchanges the rooms read, and the room's name.
ROOMS = (
    (":generateContent", "gemini.generate_content"),
    (":streamGenerateContent", "gemini.generate_content"),
    (":embedContent", "gemini.embed_content"),
    (":batchEmbedContents", "gemini.embed_content"),
    ("/v2/chat", "cohere.chat"),
    ("/v1/chat", "cohere.chat_v1"),
    ("/v2/embed", "cohere.embed"),
    ("/v1/embed", "cohere.embed"),
    ("/api/chat", "ollama.chat"),
    ("/api/generate", "ollama.generate"),
    ("/api/embed", "ollama.embed"),
    ("/api/embeddings", "ollama.embed"),
    ("/images/generations", "openai.images"),
    ("/images/edits", "openai.images"),
    ("/audio/transcriptions", "openai.audio_transcriptions"),
    ("/audio/translations", "openai.audio_transcriptions"),
    ("/audio/speech", "openai.audio_speech"),
)


def room_for(path: str) -> str | None:
    return next((room for suffix, room in ROOMS if path.endswith(suffix)), None)


def usage_block(room: str, items: list[Any]) -> Any:
    for item in reversed(items):
        if not isinstance(item, dict):
            continue
        if room.startswith("gemini") and "usageMetadata" in item:
            return item["usageMetadata"]
        if room.startswith("ollama") and ("eval_count" in item or "prompt_eval_count" in item):
            return {k: item[k] for k in ("prompt_eval_count", "eval_count") if k in item}
        if room.startswith("cohere"):
            found = (item.get("delta") or {}).get("usage") or item.get("usage") or item.get("meta")
            found = found or ((item.get("response") or {}).get("meta"))
            if found:
                return found
        if room.startswith("openai") and isinstance(item.get("usage"), dict):
            return item["usage"]
    return None


def entry(provider: str, inter: Interaction) -> dict[str, Any] | None:
    room = room_for(inter.path or "")
    if room is None:
        return None
    items = payloads(inter) if inter.status == 200 else []
    request = inter.request_json()
    stream = inter.is_sse or "stream" in inter.path or len(items) > 1
    model = request.get("model") if isinstance(request, dict) else None
    return {
        "index": inter.index,
        "provider": provider,
        "room": room,
        "method": inter.method,
        "host": inter.host,
        "path": inter.path,
        "query": inter.query,
        "status": inter.status,
        "stream": bool(stream),
        "request_model": model,
        "request": "json"
        if isinstance(request, dict)
        else "absent"
        if inter.request_body is None
        else "other",
        "usage": usage_block(room, items),
    }


def main(source: Path) -> None:
    index = []
    for line in (source / "catalogue.jsonl").open():
        record = json.loads(line)
        providers = set(record["providers"])
        if not (providers & FAMILIES or (MEDIA_APIS & set(record["apis"]) and "openai" in providers)):
            continue
        provider = next(iter(sorted(providers & FAMILIES)), "openai")
        inters = [e for i in load(source / record["file"]) if (e := entry(provider, i)) is not None]
        if not inters:
            continue
        target = TESTS / "cassettes" / record["file"]
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / record["file"], target)
        index.append({"file": record["file"], "interactions": inters})
    (TESTS / "cassettes" / "families.json").write_text(json.dumps(index, indent=1, sort_keys=True) + "\n")
    print(f"{len(index)} files, {sum(len(e['interactions']) for e in index)} interactions")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE)
