"""Email and phone normalisation and SHA-256 hashing as the ad platforms document them, for
destinations that must never receive raw personal data (Google Ads Customer Match, Meta Custom
Audiences).

The rules, per vendor (``VENDORS``):

* **google** (Customer Match formatting guidelines): email trimmed and lower-cased (no removal of
  dots before ``@gmail.com``: that rule is Campaign Manager 360's enhanced conversions, not
  Customer Match); phone in E.164 — ``+``, country code, digits only (``+12125650000``); SHA-256
  as lower-case hex.
* **meta** (Custom Audiences customer-file rules): email trimmed and lower-cased; phone digits
  only — symbols, letters and leading zeros removed, country code first, **no** ``+``
  (``447123456``, not ``+447123456``); SHA-256 as lower-case hex.

Two entry points with one set of rules: the Python functions (:func:`hash_email`,
:func:`hash_phone`) for any input a user may hold, and :func:`hashed_identifier`, the same rules
as an Ibis expression over identifiers the sync engine has already checked (emails trimmed and
lower-cased, phones E.164), so a sync hashes in the database and the raw value never reaches the
state store, the run log or the vendor. ``tests/test_sync_hashing.py`` holds the vendors'
published examples and checks both entry points agree.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

VENDORS: tuple[str, ...] = ("google", "meta")
PHONE_PLUS = {"google": True, "meta": False}  # E.164 with "+" (Google) or digits only (Meta)
_NOT_DIGIT = re.compile(r"\D")


def _vendor(vendor: str) -> str:
    if vendor not in VENDORS:
        raise ValueError(f"unknown hashing vendor {vendor!r} (known: {', '.join(VENDORS)})")
    return vendor


def sha256_hex(text: str) -> str:
    """SHA-256 of the UTF-8 text, as 64 lower-case hex digits."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def normalize_email(value: str, vendor: str) -> str:
    """Trimmed and lower-cased (both vendors); ValueError unless it looks like ``local@domain``."""
    _vendor(vendor)
    email = value.strip().lower()
    if email.count("@") != 1 or not all(email.split("@")) or any(c.isspace() for c in email):
        raise ValueError(f"not an email address: {value!r}")
    return email


def normalize_phone(value: str, vendor: str, country_code: str | None = None) -> str:
    """The number with its country code, digits only, prefixed with ``+`` for Google.

    A number written with ``+`` or ``00`` in front carries its country code; otherwise
    ``country_code`` (digits, e.g. ``"44"``) is put in front after the national trunk zeros are
    dropped; without one, the digits are taken to start with the country code (as Meta asks
    customer files to). ValueError when fewer than 7 or more than 15 digits remain (E.164)."""
    plus = PHONE_PLUS[_vendor(vendor)]
    text = value.strip()
    digits = _NOT_DIGIT.sub("", text)
    if text.startswith("+"):
        pass
    elif digits.startswith("00"):
        digits = digits[2:]
    elif country_code:
        digits = _NOT_DIGIT.sub("", country_code) + digits.lstrip("0")
    digits = digits.lstrip("0")
    if not 7 <= len(digits) <= 15:
        raise ValueError(f"not a phone number with a country code: {value!r}")
    return ("+" if plus else "") + digits


def hash_email(value: str, vendor: str) -> str:
    """SHA-256 hex of the vendor-normalised email."""
    return sha256_hex(normalize_email(value, vendor))


def hash_phone(value: str, vendor: str, country_code: str | None = None) -> str:
    """SHA-256 hex of the vendor-normalised phone number."""
    return sha256_hex(normalize_phone(value, vendor, country_code))


def hashed_identifier(value: Any, kind: str, vendor: str) -> Any:
    """The Ibis expression hashing ``value``, an identifier column the sync engine checked
    (``kind`` email: trimmed, lower-cased; phone: E.164 ``+digits``), by ``vendor``'s rules:
    the same digests as :func:`hash_email` / :func:`hash_phone` give for those inputs."""
    plus = PHONE_PLUS[_vendor(vendor)]
    if kind == "email":
        return value.hexdigest("sha256")
    if kind == "phone":
        return (value if plus else value.replace("+", "")).hexdigest("sha256")
    raise ValueError(f"{vendor} takes hashed emails or phones, not {kind}")
