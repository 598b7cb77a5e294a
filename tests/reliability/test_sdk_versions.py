"""The SDK versions under test, printed and checked: the canary (scripts/canary.sh) must really import the
releases it installed, and a plain run shows which SDKs it covered.
"""

from __future__ import annotations

import importlib.metadata
import os

import anthropic
import openai
import pytest
from reliability_canary_plugin import describe, sdk_versions

CANARY_SDKS = "OTEL_LLM_COST_CANARY_SDKS"  # set by scripts/canary.sh: "openai==X anthropic==Y"


def test_imported_sdks_are_the_installed_ones() -> None:
    print(f"SDK versions under test: {describe()}")
    assert openai.__version__ == importlib.metadata.version("openai")
    assert anthropic.__version__ == importlib.metadata.version("anthropic")
    assert {"openai", "anthropic"} <= set(sdk_versions())


def test_canary_runs_the_releases_it_installed() -> None:
    expected = os.environ.get(CANARY_SDKS, "")
    if not expected:
        pytest.skip(f"runs under scripts/canary.sh ({CANARY_SDKS} unset)")
    pins = dict(pin.split("==", 1) for pin in expected.split())
    assert set(pins) == {"openai", "anthropic"}, expected
    found = sdk_versions()
    for name, version in pins.items():
        assert found.get(name) == version, (
            f"{name}: canary installed {version}, tests import {found.get(name)}"
        )
