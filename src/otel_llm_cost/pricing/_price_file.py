"""Read a price override file (TOML; YAML when PyYAML is installed).

Prices are USD per million tokens, read as exact decimals (write them as strings or numbers)::

    # prices.toml
    strip_prefixes = ["litellm_proxy/"]      # gateway prefixes removed before lookup

    [models."ft:gpt-4o-mini-2024-07-18:acme::*"]   # wildcards allowed
    input = "0.30"
    output = "1.20"
    cache_read = "0.15"          # optional; default: input
    # cache_write (default: input), cache_write_1h (default: cache_write),
    # reasoning (default: output), provider (only match calls to this gen_ai.provider.name)

    [models."llama3.1:8b"]
    provider = "ollama"          # local models cost $0 only when you say so
    input = 0
    output = 0

    [aliases]
    "prod-gpt4o" = "gpt-4o"      # an Azure deployment name
    # a Bedrock inference-profile ARN; provider (optional) picks whose prices apply
    "arn:aws:bedrock:*:application-inference-profile/*" = { model = "claude-opus-4", provider = "anthropic" }

A ``.yaml`` / ``.yml`` file holds the same keys.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path

from otel_llm_cost.errors import PriceFileError
from otel_llm_cost.pricing._overrides import OverrideError, PriceOverrides

_TOML_LINE = re.compile(r"at line (\d+)")


def load_overrides(path: str | os.PathLike[str]) -> PriceOverrides:
    """Load user prices and aliases from a TOML or YAML file.

    Example::

        pricer = Pricer(load_overrides("prices.toml"))

    Args:
        path: the file; ``.yaml`` / ``.yml`` is read as YAML, anything else as TOML.

    Returns:
        The validated overrides.

    Raises:
        PriceFileError: the file is unreadable, malformed, or has a bad field; the message names the
            file, the line when known, and the field.
    """
    name = os.fspath(path)
    try:
        text = Path(name).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise PriceFileError(name, f"cannot read: {exc}") from exc
    is_yaml = name.lower().endswith((".yaml", ".yml"))
    data, lines = _parse_yaml(name, text) if is_yaml else _parse_toml(name, text)
    try:
        return PriceOverrides.from_mapping(data, source=name)
    except OverrideError as exc:
        raise PriceFileError(
            name, exc.reason, line=_line_for(lines, exc.path), field=_dotted(exc.path)
        ) from exc


def _parse_toml(name: str, text: str) -> tuple[Mapping[str, object], dict[tuple[str, ...], int]]:
    try:
        data = tomllib.loads(text, parse_float=Decimal)
    except tomllib.TOMLDecodeError as exc:
        match = _TOML_LINE.search(str(exc))
        raise PriceFileError(name, f"invalid TOML: {exc}", line=int(match[1]) if match else None) from exc
    return data, _toml_key_lines(text)


def _parse_yaml(name: str, text: str) -> tuple[Mapping[str, object], dict[tuple[str, ...], int]]:
    try:
        import yaml
    except ImportError as exc:
        raise PriceFileError(name, "YAML price files need PyYAML: pip install 'otel-llm-cost[yaml]'") from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        raise PriceFileError(name, f"invalid YAML: {exc}", line=mark.line + 1 if mark else None) from exc
    lines: dict[tuple[str, ...], int] = {}
    if node is not None:
        _yaml_key_lines(node, (), lines)
    return ({} if data is None else data), lines


def _yaml_key_lines(node: object, path: tuple[str, ...], lines: dict[tuple[str, ...], int]) -> None:
    for key_node, value_node in getattr(node, "value", ()) if _is_yaml_mapping(node) else ():
        key_path = (*path, str(key_node.value))
        lines[key_path] = key_node.start_mark.line + 1
        _yaml_key_lines(value_node, key_path, lines)


def _is_yaml_mapping(node: object) -> bool:
    import yaml

    return isinstance(node, yaml.MappingNode)


_TOML_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_TOML_KEY = re.compile(r'(?:^|[{,])\s*("[^"]*"|\'[^\']*\'|[A-Za-z0-9_.:-]+)\s*=')


def _toml_key_lines(text: str) -> dict[tuple[str, ...], int]:
    """Where each key is defined, found by a light scan (tomllib reports no positions)."""
    lines: dict[tuple[str, ...], int] = {}
    table: tuple[str, ...] = ()
    for number, line in enumerate(text.splitlines(), start=1):
        header = _TOML_HEADER.match(line)
        if header:
            table = _toml_key_path(header[1])
            lines.setdefault(table, number)
            continue
        keys = _TOML_KEY.findall(line)
        if keys:  # the first key of a line; the others sit in its inline table
            first = (*table, *_toml_key_path(keys[0]))
            lines.setdefault(first, number)
            for key in keys[1:]:
                lines.setdefault((*first, *_toml_key_path(key)), number)
    return lines


def _toml_key_path(dotted: str) -> tuple[str, ...]:
    parts = re.findall(r'"([^"]*)"|\'([^\']*)\'|([^."\'\s]+)', dotted)
    return tuple(next(part for part in groups if part) if any(groups) else "" for groups in parts)


def _line_for(lines: dict[tuple[str, ...], int], path: tuple[str, ...]) -> int | None:
    """The line of the deepest known key on ``path``."""
    for depth in range(len(path), 0, -1):
        if (line := lines.get(path[:depth])) is not None:
            return line
    return None


def _dotted(path: tuple[str, ...]) -> str:
    return ".".join(part if re.fullmatch(r"[A-Za-z0-9_-]+", part) else f'"{part}"' for part in path)
