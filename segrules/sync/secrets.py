"""Secrets out of every text segrules shows or stores: scrubbed in every form a request carries
them, and always BEFORE any truncation.

A vendor that echoes a request back (a 401 body quoting the ``Authorization`` header, an error
quoting the URL) holds the secret in the form the request used, not the raw one:

* raw (a header ``Klaviyo-API-Key <key>``, a JSON body);
* URL-encoded (a query string: ``quote`` and ``quote_plus``);
* base64 inside HTTP Basic auth: ``base64("user:key")`` (Mailchimp) or ``base64("key:")``
  (Segment).  The username is not needed: base64 encodes 3 bytes as 4 characters, so whatever
  precedes the key, its encoding holds one of three fixed strings (one per alignment), less one
  or two characters at each end that also carry the neighbours' bits.  Those three are scrubbed.

Truncating first and scrubbing after leaves the secret's prefix that the cut did not reach (the
bug that leaked 26 of 29 characters of a key): :meth:`Scrubber.cut` scrubs, then cuts.
"""

from __future__ import annotations

import base64
from urllib.parse import quote, quote_plus

MASK = "***"
MIN_FORM = 6  # shorter derived forms would mask ordinary text; the raw secret is always masked


def _base64_cores(secret: bytes) -> list[str]:
    """The characters of ``base64(prefix + secret + suffix)`` that depend on ``secret`` only, for
    the three alignments of ``len(prefix) % 3`` (standard and URL-safe alphabets)."""
    cores = []
    for pad in range(3):
        text = base64.b64encode(b"\0" * pad + secret).decode()
        start = -(-8 * pad // 6)  # the first character with no bit of the prefix
        end = 8 * (pad + len(secret)) // 6  # the last character with no bit of a suffix, exclusive
        core = text[start:end]
        cores += [core, core.replace("+", "-").replace("/", "_")]
    return cores


def secret_forms(secret: str) -> list[str]:
    """Every form of ``secret`` to scrub, longest first (so a longer form is masked whole)."""
    if not secret:
        return []
    raw = secret.encode("utf-8")
    forms = {secret, quote(secret, safe=""), quote(secret), quote_plus(secret), *_base64_cores(raw)}
    return sorted((f for f in forms if f == secret or len(f) >= MIN_FORM), key=lambda f: (-len(f), f))


class Scrubber:
    """Masks the given secrets (in all their forms) in text: ``scrub(text)`` or ``cut(text, n)``."""

    def __init__(self, secrets: tuple[str, ...] | list[str] = ()):
        forms = {f for s in secrets if s for f in secret_forms(s)}
        self.forms = sorted(forms, key=lambda f: (-len(f), f))

    def __call__(self, text: str) -> str:
        return self.scrub(text)

    def scrub(self, text: str) -> str:
        for form in self.forms:
            if form in text:
                text = text.replace(form, MASK)
        return text

    def cut(self, text: str, limit: int) -> str:
        """Scrubbed, then at most ``limit`` characters (``…`` marks a cut)."""
        text = self.scrub(text)
        return text if len(text) <= limit else text[:max(0, limit - 1)] + "…"

    def extend(self, secrets: tuple[str, ...] | list[str]) -> "Scrubber":
        """A scrubber for these secrets too."""
        out = Scrubber(secrets)
        out.forms = sorted(set(out.forms) | set(self.forms), key=lambda f: (-len(f), f))
        return out
