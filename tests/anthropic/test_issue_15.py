"""Issue #15, Anthropic side: raw responses, locally refused requests, SDK warnings, stream status and
content capture. Real SDK over loopback HTTP."""

from __future__ import annotations

import warnings
from typing import Any

from claude_replay import CACHED, recorded, request

from replay import ReplayServer
from sdk_calls import anthropic_client, kwargs_for

DEPRECATED = "claude-instant-1.2"  # in the SDK's DEPRECATED_MODELS: it warns with stacklevel=3


def test_issue_15_sdk_warnings_are_credited_to_the_caller_not_the_wrapper(instrumented: Any) -> None:
    interaction = recorded(CACHED, 0)
    body = request(interaction, model=DEPRECATED)
    with ReplayServer([interaction], prefix="") as server:
        client = anthropic_client(server)
        create = client.messages.create
        with warnings.catch_warnings(record=True) as seen:
            warnings.simplefilter("ignore")
            # Raised only if credited to this module, as Python's default filter does for __main__.
            warnings.filterwarnings("always", category=DeprecationWarning, module=__name__)
            create(**kwargs_for(create, body))
    (warning,) = [w for w in seen if issubclass(w.category, DeprecationWarning)]
    assert warning.filename == __file__
    assert DEPRECATED in str(warning.message)
