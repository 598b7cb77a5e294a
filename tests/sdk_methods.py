"""Put an SDK's methods back as they were: some instrumentations' ``uninstrument()`` leave wrappers behind.

OpenLLMetry 0.62's OpenAI instrumentor leaves its wrappers on openai 3.x's chat completions, Responses,
embeddings and more; a test after it would run under them (and their spans would cover its calls).
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def sdk_methods_restored(*packages: str) -> Iterator[None]:
    """On exit, every class attribute of ``packages``' resource modules is what it was on entry."""
    saved = [(cls, dict(vars(cls))) for cls in _classes(packages)]
    try:
        yield
    finally:
        for cls, before in saved:
            for name, value in before.items():
                if vars(cls).get(name) is not value:
                    setattr(cls, name, value)


def _classes(packages: tuple[str, ...]) -> list[type]:
    classes = []
    for package in packages:
        root = importlib.import_module(f"{package}.resources")
        for info in pkgutil.walk_packages(root.__path__, f"{package}.resources."):
            module = importlib.import_module(info.name)
            classes += [
                c for c in vars(module).values() if inspect.isclass(c) and c.__module__ == module.__name__
            ]
    return classes
