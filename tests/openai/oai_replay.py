"""Replaying indexed recordings through one shared server and client per kind (a client costs ~20 ms)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import pytest

import sdk_calls
from replay import CASSETTES, Interaction, ReplayServer, load


@dataclass(frozen=True)
class Case:
    """One OpenAI-family interaction of ``index.json``."""

    file: str
    index: int
    entry: dict[str, Any]

    @property
    def provider(self) -> str:
        return self.entry["provider"]

    @property
    def interaction(self) -> Interaction:
        return _interactions(self.file)[self.index]


def openai_family_cases() -> Iterator[Any]:
    """Every indexed OpenAI-family interaction as a ``pytest.param``; unreplayable ones skipped with why."""
    for recording in json.loads((CASSETTES / "index.json").read_text()):
        for entry in recording["interactions"]:
            if entry["provider"] == "anthropic":
                continue
            case = Case(recording["file"], entry["index"], entry)
            short = "/".join(recording["file"].split("/")[-2:])
            marks = (
                [] if entry["replayable"] else [pytest.mark.skip(reason=f"not replayable: {entry['reason']}")]
            )
            yield pytest.param(case, id=f"{entry['provider']}:{short}#{entry['index']}", marks=marks)


@cache
def _interactions(file: str) -> list[Interaction]:
    return load(file)


_clients: dict[tuple[str, str, str, bool], Any] = {}


def _client(srv: ReplayServer, case: Case, is_async: bool) -> Any:
    azure = case.provider == "azure-openai"
    key = (srv.url, "azure" if azure else "openai", case.interaction.query if azure else "", is_async)
    if key not in _clients:
        _clients[key] = sdk_calls.openai_client(srv, case.provider, case.interaction, is_async=is_async)
    return _clients[key]


def replay(srv: ReplayServer, case: Case, *, is_async: bool = False) -> sdk_calls.Replayed:
    """Serve the case's interaction next and make the recorded SDK call (SDK exceptions propagate)."""
    srv.pending[:] = [case.interaction]
    client = _client(srv, case, is_async)
    if is_async:
        return asyncio.run(sdk_calls.acall_openai(client, case.interaction))
    return sdk_calls.call_openai(client, case.interaction)
