"""langchain-openai and langchain-anthropic (with LangGraph), with otel-llm-cost on and off."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from checks import check_scenario
from langchain_anthropic import ChatAnthropic
from langchain_core.messages import AIMessage
from langchain_core.tools import tool
from langchain_openai import ChatOpenAI
from langgraph.prebuilt import create_react_agent

QUESTION = "What is the weather in Paris?"
HELLO = "hello there"


@tool
def get_weather(city: str) -> str:
    """The current weather in a city."""
    return f"Sunny and 21 C in {city}."


def _openai(server: Any) -> ChatOpenAI:
    return ChatOpenAI(model="gpt-4o-mini", base_url=server.base_url, api_key="k", max_retries=0)


def _anthropic(server: Any) -> ChatAnthropic:
    return ChatAnthropic(
        model="claude-sonnet-4-5", base_url=server.anthropic_base_url, api_key="k", max_retries=0
    )


def _message(message: AIMessage) -> tuple[Any, Any]:
    return (message.content, message.tool_calls), message.usage_metadata


def _invoke(chat: Any) -> tuple[Any, Any]:
    return _message(chat.invoke(HELLO))


def _ainvoke(chat: Any) -> tuple[Any, Any]:
    return _message(asyncio.run(chat.ainvoke(HELLO)))


def _stream(chat: Any) -> tuple[Any, Any]:
    chunks = list(chat.stream(HELLO))
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return [c.content for c in chunks], total.usage_metadata


def _astream(chat: Any) -> tuple[Any, Any]:
    async def collect() -> list[Any]:
        return [chunk async for chunk in chat.astream(HELLO)]

    chunks = asyncio.run(collect())
    total = chunks[0]
    for chunk in chunks[1:]:
        total += chunk
    return [c.content for c in chunks], total.usage_metadata


def _tools(chat: Any) -> tuple[Any, Any]:
    return _message(chat.bind_tools([get_weather]).invoke(QUESTION))


def _graph(chat: Any) -> tuple[Any, Any]:
    agent = create_react_agent(chat, [get_weather])
    result = agent.invoke({"messages": [("user", QUESTION)]})
    messages = [m for m in result["messages"] if isinstance(m, AIMessage)]
    return [(m.content, [c["name"] for c in m.tool_calls]) for m in messages], [
        m.usage_metadata for m in messages
    ]


SURFACES = {"invoke": _invoke, "ainvoke": _ainvoke, "stream": _stream, "astream": _astream, "tools": _tools,
            "langgraph": _graph}  # fmt: skip


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_langchain_openai(surface: str) -> None:
    check_scenario(lambda server, provider: SURFACES[surface](_openai(server)))


@pytest.mark.parametrize("surface", sorted(SURFACES))
def test_langchain_anthropic(surface: str) -> None:
    check_scenario(lambda server, provider: SURFACES[surface](_anthropic(server)))
