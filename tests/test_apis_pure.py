"""The wire-API rooms are pure: no OpenTelemetry and no capture layer in ``apis/`` (#14).

Every capture layer (SDK wrappers, the wire capture, botocore, ``llm_call``) feeds the rooms; a room that
imported one of them would tie the format's knowledge to one way of seeing calls.
"""

from __future__ import annotations

import ast
from pathlib import Path

APIS = Path(__file__).resolve().parents[1] / "src" / "otel_llm_cost" / "apis"
FORBIDDEN = ("opentelemetry", "otel_llm_cost.instrumentation", "otel_llm_cost.processor", "wrapt")


def _imports(path: Path) -> set[str]:
    """The modules ``path`` imports when it runs (imports for type checkers only are left out)."""
    tree = ast.parse(path.read_text())
    typing_only = {
        id(inner)
        for node in ast.walk(tree)
        if isinstance(node, ast.If) and ast.unparse(node.test) == "TYPE_CHECKING"
        for inner in ast.walk(node)
    }
    found: set[str] = set()
    for node in ast.walk(tree):
        if id(node) in typing_only:
            continue
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
            found.add(node.module)
    return found


def test_no_room_imports_opentelemetry_or_a_capture_layer():
    rooms = sorted(APIS.glob("*.py"))
    assert len(rooms) >= 10
    offending = {
        path.name: sorted(name for name in _imports(path) if name.startswith(FORBIDDEN)) for path in rooms
    }
    assert {name: found for name, found in offending.items() if found} == {}
