"""Map character offsets of an expression back to file line/column.

An expression usually lives inside a YAML scalar, possibly folded over several lines
(``where: >``).  The spec loader builds a :class:`SourceMap` from the scalar's position so
that every AST node's span points into the YAML file, not into the extracted string.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..diagnostics import Span

if TYPE_CHECKING:
    from lark import Token


@dataclass(frozen=True)
class SourceMap:
    """Piecewise map: ``segments[i] = (offset, line, column)`` — text from ``offset`` on
    starts at file position ``(line, column)`` and runs on along that line."""

    file: str | None
    segments: tuple[tuple[int, int, int], ...]

    @classmethod
    def for_text(cls, text: str, file: str | None = None, line: int = 1, column: int = 1) -> "SourceMap":
        """The text stands verbatim in the file at ``line``/``column`` (later lines at column 1)."""
        segs = [(0, line, column)]
        offset = 0
        for i, chunk in enumerate(text.split("\n")[:-1]):
            offset += len(chunk) + 1
            segs.append((offset, line + i + 1, 1))
        return cls(file, tuple(segs))

    def locate(self, offset: int) -> tuple[int, int]:
        offsets = [s[0] for s in self.segments]
        i = max(0, bisect.bisect_right(offsets, offset) - 1)
        start, line, column = self.segments[i]
        return line, column + (offset - start)

    def span(self, start: int, end: int | None = None) -> Span:
        line, col = self.locate(start)
        if end is None or end <= start:
            return Span(self.file, line, col, line, col + 1)
        end_line, end_col = self.locate(end)
        return Span(self.file, line, col, end_line, end_col)


# Lark types a token's offsets as optional (a Token built by hand has none); the lexer's tokens,
# the only ones the parser and the syntax-error reporter see, always have both.
def token_start(token: Token) -> int:
    assert token.start_pos is not None, token
    return token.start_pos


def token_end(token: Token) -> int:
    assert token.end_pos is not None, token
    return token.end_pos
