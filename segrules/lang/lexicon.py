"""The words and literal forms of the expression language, read and written.

The parser decodes token text with the ``decode_*`` functions and :mod:`.unparse` writes
values back with the ``encode_*`` functions, so each literal's syntax lives in one place.
Decoders raise :class:`LiteralError` with offsets relative to the text they were given;
the parser shifts them onto the token and turns them into an ``ExprSyntaxError``.
"""

from __future__ import annotations

import re
from datetime import date, datetime
from decimal import Decimal

from .ast import DURATION_SECONDS, Duration

KEYWORDS = frozenset(
    ("and", "or", "not", "in", "between", "is", "null", "true", "false", "where", "within", "now", "today",
     "then", "convert")
)
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_DURATION = re.compile(r"([0-9]+)(\.[0-9]+)?(.*)", re.DOTALL)
_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})")
_TIMESTAMP = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[ T]([0-9]{2}):([0-9]{2})(?::([0-9]{2})(?:\.([0-9]{1,6}))?)?"
)
_ESCAPABLE = "'\"\\"


class LiteralError(ValueError):
    """A token lexed but its text is not a valid literal.

    ``key`` names the entry of :data:`segrules.lang.syntax_errors.CATALOGUE`; ``start``/``end``
    are offsets into the decoded text; ``fields`` fill the message template.
    """

    def __init__(self, key: str, start: int, end: int, **fields: str):
        super().__init__(key)
        self.key = key
        self.start = start
        self.end = end
        self.fields = fields


# --- identifiers -----------------------------------------------------------------------------
def is_identifier(text: str) -> bool:
    """A valid name: ``[A-Za-z_][A-Za-z0-9_]*`` and not a reserved keyword."""
    return _IDENTIFIER.fullmatch(text) is not None and text not in KEYWORDS


def is_param_name(text: str) -> bool:
    """What may follow ``$``: any identifier, keywords included (``$in`` is unambiguous)."""
    return _IDENTIFIER.fullmatch(text) is not None


# --- numbers and durations -------------------------------------------------------------------
def decode_number(text: str) -> int | Decimal:
    """``12`` -> int, ``12.50`` -> ``Decimal('12.50')`` (digits kept exactly)."""
    if "." in text:
        return Decimal(text)
    try:
        return int(text)
    except ValueError:  # longer than sys.get_int_max_str_digits()
        raise LiteralError("number_too_long", 0, len(text), digits=str(len(text))) from None


def encode_number(value: int | Decimal) -> str:
    """Inverse of :func:`decode_number` for non-negative values.

    A Decimal with no fractional digits (``Decimal('5')``) is written ``5.0`` so it stays a
    Decimal when read back.
    """
    if isinstance(value, bool) or not isinstance(value, (int, Decimal)):
        raise ValueError(f"not a number literal: {value!r}")
    if isinstance(value, int):
        if value < 0:
            raise ValueError(f"number literals are non-negative: {value!r}")
        return str(value)
    if not value.is_finite() or value.is_signed():
        raise ValueError(f"number literals are finite and non-negative: {value!r}")
    text = format(value, "f")
    return text if "." in text else text + ".0"


def decode_duration(text: str) -> tuple[int, str]:
    """``30d`` -> ``(30, 'd')``; the unit must be one of ``DURATION_SECONDS``."""
    match = _DURATION.fullmatch(text)
    assert match is not None, text  # the DURATION terminal guarantees digits first
    digits, fraction, unit = match.groups()
    if fraction:
        raise LiteralError("fractional_duration", 0, len(text), text=text)
    if unit not in DURATION_SECONDS:
        raise LiteralError("bad_duration_unit", match.start(3), len(text), unit=unit)
    try:
        return int(digits), unit
    except ValueError:
        raise LiteralError("number_too_long", 0, len(digits), digits=str(len(digits))) from None


def duration_param(value: object) -> Duration | None:
    """A parameter value written as a duration (``params: {recent: 30d}``, ``--param recent=14d``)
    as an :class:`~.ast.Duration`, or None for any other value.  Such a parameter is a duration,
    usable in ``within $recent``, ``convert $recent`` and ``now - $recent``."""
    if not isinstance(value, str):
        return None
    match = _DURATION.fullmatch(value)
    if match is None or match.group(2) or match.group(3) not in DURATION_SECONDS or len(match.group(1)) > 18:
        return None
    return Duration(int(match.group(1)), match.group(3))


def encode_duration(amount: int, unit: str) -> str:
    if isinstance(amount, bool) or not isinstance(amount, int) or amount < 0:
        raise ValueError(f"duration amounts are non-negative integers: {amount!r}")
    if unit not in DURATION_SECONDS:
        raise ValueError(f"unknown duration unit: {unit!r}")
    return f"{amount}{unit}"


# --- strings ---------------------------------------------------------------------------------
def decode_string(token: str) -> str:
    """The value of a quoted token (quotes included); escapes are ``\\'`` ``\\"`` ``\\\\``."""
    body = token[1:-1]
    out = []
    i = 0
    while i < len(body):
        char = body[i]
        if char == "\\":
            escaped = body[i + 1]  # the STRING terminal never ends on a lone backslash
            if escaped not in _ESCAPABLE:
                shown = escaped if escaped.isprintable() else repr(escaped)[1:-1]
                raise LiteralError("bad_escape", i + 1, i + 3, escape="\\" + shown)
            out.append(escaped)
            i += 2
        else:
            if char == "\x00" or "\ud800" <= char <= "\udfff":  # no database stores these
                shown = "NUL (U+0000)" if char == "\x00" else f"lone surrogate U+{ord(char):04X}"
                raise LiteralError("string_char", i + 1, i + 2, char=shown)
            out.append(char)
            i += 1
    return "".join(out)


def encode_string(value: str) -> str:
    """Single-quoted, with backslashes and single quotes escaped.  A NUL or a lone surrogate has
    no syntax (SR226): ``ValueError``."""
    if "\0" in value or any("\ud800" <= c <= "\udfff" for c in value):
        raise ValueError("a string literal cannot hold the NUL character or a lone surrogate")
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


# --- dates and timestamps --------------------------------------------------------------------
def decode_date(text: str) -> date:
    """``YYYY-MM-DD``; anything else (or an impossible date) raises ``bad_date``."""
    match = _DATE.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        return date(*(int(g) for g in match.groups()))
    except ValueError:
        raise LiteralError("bad_date", 0, len(text), text=text) from None


def decode_timestamp(text: str) -> datetime:
    """``YYYY-MM-DD HH:MM[:SS[.ffffff]]``, with a space or ``T`` between date and time."""
    match = _TIMESTAMP.fullmatch(text)
    try:
        if match is None:
            raise ValueError
        year, month, day, hour, minute, second, fraction = match.groups()
        micros = int(fraction.ljust(6, "0")) if fraction else 0
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second or 0), micros)
    except ValueError:
        raise LiteralError("bad_timestamp", 0, len(text), text=text) from None


def encode_date(value: date) -> str:
    return f"date({encode_string(value.isoformat())})"


def encode_timestamp(value: datetime) -> str:
    if value.tzinfo is not None:
        raise ValueError(f"timestamp literals are naive (no time zone): {value!r}")
    return f"timestamp({encode_string(value.isoformat(sep=' '))})"
