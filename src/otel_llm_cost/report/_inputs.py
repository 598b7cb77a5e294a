"""Which files a report reads: files as given, and every file under a directory, oldest first.

A Collector's file exporter with ``rotation`` renames its full file ``traces.json`` to
``traces-2025-06-15T15-06-40.123.json`` (lumberjack, older Collectors) or
``traces-2025-06-15T15-06-40.123-size.json`` (timberjack: the rotation's reason added) and starts a
new ``traces.json``; with ``group_by`` it writes one file per resource attribute value, in
subdirectories or side by side (contrib ``exporter/fileexporter``: ``README.md``, ``factory.go``,
``grouping_file_exporter.go``). So a directory's files are read series by series, each series'
backups by the time in their names and its current file last: spans arrive roughly in time order,
which keeps the number of traces held open small. Hidden files are skipped.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable
from pathlib import Path
from typing import Final

# name-<UTC or local time>[-reason][.ext], as the rotation libraries write backups.
_BACKUP: Final = re.compile(
    r"^(?P<stem>.+)-(?P<stamp>\d{4}-\d\d-\d\dT\d\d-\d\d-\d\d\.\d{3})(?:-[A-Za-z0-9_]+)?(?P<ext>\.[^.]*)?$"
)


def input_files(paths: Iterable[str | Path]) -> list[str]:
    """``paths`` with every directory replaced by the files under it (oldest first), each file once.

    Raises:
        OSError: a directory cannot be listed.
    """
    files: list[str] = []
    seen: set[str] = set()
    for path in paths:
        expanded = _directory_files(path) if os.path.isdir(path) else [str(path)]
        for file in expanded:
            key = os.path.realpath(file)
            if key not in seen:
                seen.add(key)
                files.append(file)
    return files


def _directory_files(directory: str | Path) -> list[str]:
    found: list[tuple[tuple[str, str, int, str], str]] = []

    def fail(error: OSError) -> None:
        raise error

    for root, dirs, names in os.walk(directory, onerror=fail):
        dirs[:] = [d for d in dirs if not d.startswith(".")]
        for name in names:
            path = os.path.join(root, name)
            if not name.startswith(".") and os.path.isfile(path):
                found.append((_read_order(root, name), path))
    return [path for _, path in sorted(found)]


def _read_order(root: str, name: str) -> tuple[str, str, int, str]:
    """Sort key: by directory, then series (a file and its backups), backups by time, the file last."""
    backup = _BACKUP.match(name)
    if backup is None:
        return root, name, 1, ""
    return root, backup["stem"] + (backup["ext"] or ""), 0, backup["stamp"]
