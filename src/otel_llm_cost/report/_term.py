"""Text from span files made safe to print: the one filter every terminal line of ours passes.

Span files are written by other programs and may hold anything a JSON string can: escape sequences
(``ESC ]0;title BEL`` sets a terminal's title, ``ESC [2J`` clears it), other C0 and C1 control
characters, bidirectional overrides that make text read differently than it is stored, line and
paragraph separators, and lone surrogates (half an emoji) that no encoder accepts. Each becomes
``�``, one character for one, so columns stay aligned and nothing is interpreted.
"""

from __future__ import annotations

import re
from typing import Final

REPLACEMENT: Final = "\ufffd"
# C0 controls except newline, DEL and C1, the bidi embeddings / overrides / isolates and marks,
# line / paragraph separators, and surrogates (only lone ones can reach a Python str).
_UNSAFE: Final = re.compile(
    "[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069\ud800-\udfff]"
)
_UNSAFE_IN_CELL: Final = re.compile(_UNSAFE.pattern[:-1] + "\n]")


def safe_text(text: str) -> str:
    """``text`` with every control, bidi or surrogate character replaced (newlines kept)."""
    return _UNSAFE.sub(REPLACEMENT, text)


def safe_cell(text: str) -> str:
    """``text`` for one table cell or line: as :func:`safe_text`, newlines replaced too."""
    return _UNSAFE_IN_CELL.sub(REPLACEMENT, text)
