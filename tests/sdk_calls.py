"""Turn a recorded interaction into the matching real SDK call, and consume what it returns.

    with ReplayServer(load(path)) as srv:
        client = openai_client(srv)
        done = call_openai(client, interaction)   # chat / responses / embeddings, stream or not
        assert done.usage == index_entry["usage"]

The recorded request JSON becomes keyword arguments; keys the installed SDK's method does not accept go in
``extra_body``, so the bytes sent match the recording across SDK versions. Recordings that hold no request
(openinference JSON) get a minimal synthesized one. SDK exceptions propagate unchanged.
"""

from __future__ import annotations

import inspect
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from replay import Interaction, ReplayServer

_CONTROL = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
_OPENAI_METHODS = {
    "chat/completions": "chat.completions",
    "responses": "responses",
    "embeddings": "embeddings",
}
_TERMINAL_RESPONSE_EVENTS = frozenset({"response.completed", "response.incomplete", "response.failed"})
DEFAULT_AZURE_API_VERSION = "2024-10-21"


@dataclass
class Replayed:
    """What an SDK call produced.

    Attributes:
        result: the parsed response, or the list of stream events/chunks in arrival order.
        usage: the usage the SDK parsed, as a plain dict (keys as the provider sent them), or ``None``.
    """

    result: Any
    usage: dict[str, Any] | None


def api_of(interaction: Interaction) -> str:
    """``chat.completions`` / ``responses`` / ``embeddings`` / ``messages`` for an interaction's endpoint."""
    ep = interaction.endpoint or ""
    return "messages" if ep == "messages" else _OPENAI_METHODS[ep]


def openai_client(
    srv: ReplayServer, provider: str = "openai", interaction: Interaction | None = None, **options: Any
) -> Any:
    """An ``OpenAI`` client on the replay server (``AzureOpenAI`` for ``azure-openai``), no retries.

    ``is_async=True`` gives the async twin; other options go to the client constructor.
    """
    import openai

    is_async = options.pop("is_async", False)
    options = {"api_key": "test-key", "max_retries": 0, **options}
    if provider == "azure-openai":
        query = urllib.parse.parse_qs(interaction.query if interaction else "")
        version = query.get("api-version", [DEFAULT_AZURE_API_VERSION])[0]
        cls = openai.AsyncAzureOpenAI if is_async else openai.AzureOpenAI
        return cls(azure_endpoint=srv.url, api_version=version, **options)
    cls = openai.AsyncOpenAI if is_async else openai.OpenAI
    return cls(base_url=srv.url + "/v1", **options)


def anthropic_client(srv: ReplayServer, **options: Any) -> Any:
    """An ``Anthropic`` client on the replay server, no retries; ``is_async=True`` for the async twin."""
    import anthropic

    cls = anthropic.AsyncAnthropic if options.pop("is_async", False) else anthropic.Anthropic
    return cls(base_url=srv.url, **{"api_key": "test-key", "max_retries": 0, **options})


def request_of(interaction: Interaction) -> dict[str, Any]:
    """The recorded request JSON, or a minimal one when the recording holds none."""
    recorded = interaction.request_json()
    if isinstance(recorded, dict):
        return recorded
    model = _response_model(interaction) or "unknown-model"
    request: dict[str, Any] = {"model": model, "messages": [{"role": "user", "content": "Hello"}]}
    if api_of(interaction) == "messages":
        request["max_tokens"] = 1024
    if interaction.is_sse:
        request["stream"] = True
    return request


def sdk_method(client: Any, interaction: Interaction) -> Callable[..., Any]:
    """The SDK method answering this interaction, e.g. ``client.chat.completions.create``."""
    target = client
    for name in api_of(interaction).split("."):
        target = getattr(target, name)
    return target.create


def kwargs_for(method: Callable[..., Any], request: dict[str, Any]) -> dict[str, Any]:
    """Split a request body into the method's keyword arguments and ``extra_body`` for the rest."""
    accepted = set(inspect.signature(method).parameters) - _CONTROL
    kwargs = {k: v for k, v in request.items() if k in accepted}
    extra = {k: v for k, v in request.items() if k not in accepted}
    if extra:
        kwargs["extra_body"] = extra
    return kwargs


def call_openai(client: Any, interaction: Interaction) -> Replayed:
    """Make the recorded OpenAI-family call; iterate the stream when it is one."""
    method = sdk_method(client, interaction)
    result = method(**kwargs_for(method, request_of(interaction)))
    if _is_stream(interaction):
        events = list(result)
        return Replayed(events, openai_stream_usage(events))
    return Replayed(result, plain(result.usage))


async def acall_openai(client: Any, interaction: Interaction) -> Replayed:
    """Async twin of `call_openai`."""
    method = sdk_method(client, interaction)
    result = await method(**kwargs_for(method, request_of(interaction)))
    if _is_stream(interaction):
        events = [event async for event in result]
        return Replayed(events, openai_stream_usage(events))
    return Replayed(result, plain(result.usage))


def call_anthropic(client: Any, interaction: Interaction) -> Replayed:
    """Make the recorded ``messages.create`` call; iterate the raw event stream when it is one."""
    method = client.messages.create
    result = method(**kwargs_for(method, request_of(interaction)))
    if _is_stream(interaction):
        events = list(result)
        return Replayed(events, anthropic_stream_usage(events))
    return Replayed(result, plain(result.usage))


async def acall_anthropic(client: Any, interaction: Interaction) -> Replayed:
    """Async twin of `call_anthropic`."""
    method = client.messages.create
    result = await method(**kwargs_for(method, request_of(interaction)))
    if _is_stream(interaction):
        events = [event async for event in result]
        return Replayed(events, anthropic_stream_usage(events))
    return Replayed(result, plain(result.usage))


def openai_stream_usage(events: list[Any]) -> dict[str, Any] | None:
    """The last usage block of a chat chunk, Groq's ``x_groq`` extension or a terminal Responses event."""
    found = None
    for event in events:
        if getattr(event, "type", None) in _TERMINAL_RESPONSE_EVENTS:
            found = event.response.usage or found
        elif getattr(event, "usage", None) is not None:
            found = event.usage
        elif isinstance(groq := getattr(event, "x_groq", None), dict) and groq.get("usage"):
            found = groq["usage"]
    return plain(found)


def anthropic_stream_usage(events: list[Any]) -> dict[str, Any] | None:
    """``message_start`` usage updated by each ``message_delta``'s non-null (cumulative) fields."""
    usage: dict[str, Any] | None = None
    for event in events:
        if event.type == "message_start":
            usage = plain(event.message.usage)
        elif event.type == "message_delta" and usage is not None:
            usage.update({k: v for k, v in (plain(event.usage) or {}).items() if v is not None})
    return usage


def plain(obj: Any) -> dict[str, Any] | None:
    """An SDK model as the dict the provider sent (only fields present on the wire)."""
    if obj is None or isinstance(obj, dict):
        return obj
    return obj.to_dict()


def _is_stream(interaction: Interaction) -> bool:
    return request_of(interaction).get("stream") is True


def _response_model(interaction: Interaction) -> str | None:
    body = interaction.body_json()
    if isinstance(body, dict) and isinstance(body.get("model"), str):
        return body["model"]
    for event in interaction.sse_data():
        message = event.get("message") if isinstance(event, dict) else None
        if isinstance(message, dict) and isinstance(message.get("model"), str):
            return message["model"]
        if isinstance(event, dict) and isinstance(event.get("model"), str):
            return event["model"]
    return None
