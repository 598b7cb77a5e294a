"""The framework conformance suite: real framework releases over the real SDKs, against a loopback server.

Run by ``make test-frameworks`` in its own venv (``.venv-frameworks``, ``requirements/frameworks.txt``);
the default ``pytest`` run skips this folder (see ``tests/conftest.py``).
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
