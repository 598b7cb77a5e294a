"""What the demo model says, and how many tokens it pretends everything costs.

Replies come from a short script keyed by the last user message, so that an agent loop sees the same
conversation every run: ask about the weather -> call ``get_weather`` (when that tool is offered) ->
answer from the tool's result. Token counts follow one simple rule (words x 4/3), the same for
prompts and replies, streamed or not, so usage blocks look like a real provider's and add up.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

# Per-message and per-request framing tokens, roughly what OpenAI's chat format adds.
MESSAGE_OVERHEAD = 4
REQUEST_OVERHEAD = 3
TOOL_OVERHEAD = 8
IMAGE_TOKENS = 85

# Keys whose string values are structure, not text the model reads.
_STRUCTURAL_KEYS = frozenset(
    {"role", "type", "id", "call_id", "tool_call_id", "tool_use_id", "cache_control"}
)

_REASONING_MODEL = re.compile(r"^(o\d|gpt-5)")
_CITY = re.compile(r"\bin ([A-Z][a-zA-Z]+)")
_CHUNK = re.compile(r"\s*\S+")
_ARGUMENT_PIECES = re.compile(r"\w+|\W+")


@dataclass(frozen=True, slots=True)
class ToolCall:
    """A function call the script asks the caller to make."""

    name: str
    arguments: Mapping[str, Any]

    @property
    def arguments_json(self) -> str:
        return json.dumps(dict(self.arguments), separators=(",", ":"))


@dataclass(frozen=True, slots=True)
class Reply:
    """One turn of the demo model: text, or a tool call (never both)."""

    text: str = ""
    tool_call: ToolCall | None = None


@dataclass(frozen=True, slots=True)
class Turn:
    """A scripted exchange, chosen when the last user message contains one of ``keywords`` (whole words)."""

    keywords: tuple[str, ...]
    answer: str
    tool: str | None = None
    after_tool: str = ""
    tool_arguments: Mapping[str, Any] = field(default_factory=dict)


# First match wins: a request to summarise a weather answer is a summary, not a weather question.
SCRIPT: tuple[Turn, ...] = (
    Turn(
        keywords=("summarise", "summarize", "summary", "one sentence", "tl;dr"),
        answer="Light rain and 14 °C in {city} tomorrow: bring a compact umbrella, plan indoor visits first.",
    ),
    Turn(
        keywords=("weather", "umbrella", "forecast"),
        tool="get_weather",
        answer="I cannot check live weather for {city}, but spring showers are common: take an umbrella.",
        after_tool=(
            "Tomorrow in {city} expect light rain and about 14 °C, clearing by evening. "
            "Pack a compact umbrella and a light jacket; the museums are a good plan for the wet morning."
        ),
    ),
    Turn(
        keywords=("hello", "hi", "hey"),
        answer="Hello! I am the otel-llm-cost demo model. Ask me about the weather to see a tool call.",
    ),
)

DEFAULT_ANSWER = (
    "This is the otel-llm-cost demo server answering deterministically. "
    "Every call still gets a realistic usage block, so its cost can be priced."
)


def choose_reply(last_user_text: str, *, after_tool: bool, tool_names: Iterable[str]) -> Reply:
    """Pick the scripted reply for a conversation.

    Args:
        last_user_text: text of the last user message.
        after_tool: whether the conversation ends with a tool result.
        tool_names: names of the tools the request offers (empty when none or when tools are disabled).

    Returns:
        The reply: a tool call when the script wants one and the request offers that tool.
    """
    turn = _match(last_user_text)
    if turn is None:
        return Reply(text=DEFAULT_ANSWER)
    city = _city(last_user_text)
    if turn.tool and after_tool:
        return Reply(text=turn.after_tool.format(city=city))
    if turn.tool and turn.tool in set(tool_names):
        return Reply(tool_call=ToolCall(turn.tool, dict(turn.tool_arguments) or {"city": city}))
    return Reply(text=turn.answer.format(city=city))


def _match(text: str) -> Turn | None:
    lowered = text.lower()
    for turn in SCRIPT:
        # Whole words only: "hi" must not match "this".
        if any(re.search(rf"\b{re.escape(keyword)}\b", lowered) for keyword in turn.keywords):
            return turn
    return None


def _city(text: str) -> str:
    found = _CITY.search(text)
    return found.group(1) if found else "Paris"


# --- tokens --------------------------------------------------------------------------------------


def count_tokens(text: str) -> int:
    """Tokens of a piece of text: words x 4/3, rounded up."""
    return math.ceil(len(text.split()) * 4 / 3)


def content_tokens(value: Any) -> int:
    """Tokens of any JSON value (message, content parts, tool definition): its text, plus images."""
    if isinstance(value, str):
        return count_tokens(value)
    if isinstance(value, Mapping):
        if value.get("type") in ("image_url", "input_image", "image"):
            return IMAGE_TOKENS
        return sum(content_tokens(v) for k, v in value.items() if k not in _STRUCTURAL_KEYS)
    if isinstance(value, list | tuple):
        return sum(content_tokens(v) for v in value)
    return 0


def message_tokens(message: Any) -> int:
    """Tokens of one conversation message, framing included."""
    return content_tokens(message) + MESSAGE_OVERHEAD


def tools_tokens(tools: Any) -> int:
    """Tokens the tool definitions add to the prompt."""
    if not isinstance(tools, list):
        return 0
    return sum(content_tokens(tool) + TOOL_OVERHEAD for tool in tools)


def reply_tokens(reply: Reply) -> int:
    """Visible output tokens of a reply."""
    if reply.tool_call is not None:
        call = reply.tool_call
        return count_tokens(call.name) + count_tokens(call.arguments_json) + 2 * len(call.arguments) + 3
    return count_tokens(reply.text)


def reasoning_tokens(model: str, visible_tokens: int) -> int:
    """Hidden reasoning tokens: only "o"-style (and gpt-5) models think before they answer."""
    if not _REASONING_MODEL.match(model):
        return 0
    return 64 + 3 * visible_tokens


def split_chunks(text: str) -> list[str]:
    """Word-sized stream deltas whose concatenation is ``text``."""
    return _CHUNK.findall(text) or [text]


def argument_pieces(arguments_json: str) -> list[str]:
    """Stream deltas of a tool call's JSON arguments (words and the punctuation between them)."""
    return _ARGUMENT_PIECES.findall(arguments_json)


def chunk_count(reply: Reply) -> int:
    """How many deltas a reply streams in; a non-streamed answer takes as long to generate."""
    if reply.tool_call is not None:
        return len(argument_pieces(reply.tool_call.arguments_json)) + 1
    return len(split_chunks(reply.text))


def embedding_input_tokens(value: Any) -> int:
    """Tokens of an embeddings ``input``: a string, a list of strings, or token id lists."""
    if isinstance(value, str):
        return max(1, count_tokens(value))
    if isinstance(value, list) and value and all(isinstance(v, int) for v in value):
        return len(value)
    if isinstance(value, list):
        return sum(embedding_input_tokens(v) for v in value)
    return 0
