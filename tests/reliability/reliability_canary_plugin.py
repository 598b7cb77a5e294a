"""A pytest plugin for the SDK upgrade canary (scripts/canary.sh): names the SDK versions under test.

    PYTHONPATH=tests/reliability pytest -p reliability_canary_plugin tests/openai/test_replay_all.py ...

The versions appear in the session header, in an "SDK versions" section of every failing test's report,
and in the terminal summary when anything failed, so a breaking SDK release is named where it broke.
"""

from __future__ import annotations

import importlib.metadata
from typing import Any

import pytest

SDKS = ("openai", "anthropic", "httpx", "httpx2")


def sdk_versions() -> dict[str, str]:
    """Installed versions of the SDKs and their HTTP clients (absent ones left out)."""
    found = {}
    for name in SDKS:
        try:
            found[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            continue
    return found


def describe() -> str:
    return ", ".join(f"{name} {version}" for name, version in sdk_versions().items())


def pytest_report_header(config: pytest.Config) -> str:
    return f"SDK versions under test: {describe()}"


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[Any]) -> Any:
    report = yield
    if report.failed:
        report.sections.append(("SDK versions", describe()))
    return report


def pytest_terminal_summary(terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
    if exitstatus != 0:
        terminalreporter.write_line(f"SDK canary failed with: {describe()}", red=True, bold=True)
