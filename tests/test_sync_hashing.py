"""Email and phone normalisation + SHA-256 for the ad platforms (segrules.sync.hashing, exported
through segrules.plugin): the vendors' published examples reproduced exactly, and the Ibis
expression the sync engine hashes with agrees with the Python functions on every identifier the
engine lets through."""

from __future__ import annotations

import ibis
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from segrules.plugin import HASHING_VENDORS, hash_email, hash_phone, normalize_email, normalize_phone, sha256_hex
from segrules.sync.hashing import hashed_identifier

# (vendor, raw, normalised) as the vendors document them
EMAILS = [
    # Google Customer Match: trim, lower-case; the gmail dot rule is CM360's, not Customer Match's
    ("google", "  Jane.Doe@Gmail.com ", "jane.doe@gmail.com"),
    ("google", "TEST@test.com ", "test@test.com"),
    # Meta: trim + lower-case (Business Help "How to format a customer list" examples)
    ("meta", "username@hotmail.co.uk", "username@hotmail.co.uk"),
    ("meta", " Your.Name@GMAIL.com", "your.name@gmail.com"),
    ("meta", "TEST@test.com ", "test@test.com"),
]
PHONES = [
    # Google: E.164, "+", country code, digits only (Google Ads API team: +12125650000, +442070313000)
    ("google", "+1 212-565-0000", None, "+12125650000"),
    ("google", "+44 20 7031 3000", None, "+442070313000"),
    ("google", "020 7031 3000", "44", "+442070313000"),  # a national number with its country code given
    ("google", "0044 20 7031 3000", None, "+442070313000"),
    # Meta: symbols, letters and leading zeros removed, country code first, NO "+"
    ("meta", "1-234-567-8910", None, "12345678910"),
    ("meta", "+44 844 412 4653", None, "448444124653"),
    ("meta", "+447123456", None, "447123456"),
    ("meta", "(650) 555-1212", "1", "16505551212"),
]


@pytest.mark.parametrize("vendor,raw,normalised", EMAILS)
def test_hashing_email_examples_of_the_vendors(vendor, raw, normalised):
    assert normalize_email(raw, vendor) == normalised
    assert hash_email(raw, vendor) == sha256_hex(normalised)


@pytest.mark.parametrize("vendor,raw,country,normalised", PHONES)
def test_hashing_phone_examples_of_the_vendors(vendor, raw, country, normalised):
    assert normalize_phone(raw, vendor, country) == normalised
    assert hash_phone(raw, vendor, country) == sha256_hex(normalised)


def test_hashing_published_digest_and_format():
    # the check value a Meta onboarding guide publishes for "TEST@test.com " (trim, lower-case, SHA-256)
    assert hash_email("TEST@test.com ", "meta") == "f660ab912ec121d1b1e928a0bb4bc61b15f5ad44d5efdc4e1c92a25e99b8e44a"
    # the same person hashes differently per vendor when the vendors format phones differently
    assert hash_phone("+12125650000", "google") != hash_phone("+12125650000", "meta")
    assert hash_phone("+12125650000", "meta") == sha256_hex("12125650000")
    assert all(len(hash_email("a@b.co", v)) == 64 and hash_email("a@b.co", v).islower() for v in HASHING_VENDORS)


@pytest.mark.parametrize("call", [lambda: normalize_email("not-an-email", "google"),
                                  lambda: normalize_email("a b@c.com", "meta"),
                                  lambda: normalize_phone("12345", "meta"),
                                  lambda: normalize_phone("+1234567890123456", "google"),
                                  lambda: hash_email("a@b.co", "tiktok")])
def test_hashing_rejects_what_no_vendor_can_match(call):
    with pytest.raises(ValueError):
        call()


LOCAL = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._+-", min_size=1, max_size=12)
DOMAIN = st.text("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-", min_size=1, max_size=10)
EMAIL = st.builds(lambda pad, local, domain, tld, pad2: f"{pad}{local}@{domain}.{tld}{pad2}",
                  st.sampled_from(["", " ", "  "]), LOCAL, DOMAIN, st.sampled_from(["com", "CO", "de"]),
                  st.sampled_from(["", " "]))
PHONE = st.builds(lambda first, rest: f"+{first}{rest}", st.integers(1, 9), st.text("0123456789", min_size=6,
                                                                                     max_size=14))


@settings(max_examples=60, deadline=None)
@given(emails=st.lists(EMAIL, min_size=1, max_size=8), phones=st.lists(PHONE, min_size=1, max_size=8),
       vendor=st.sampled_from(HASHING_VENDORS))
def test_hashing_ibis_expression_matches_python(emails, phones, vendor):
    """What the sync engine does (trim + lower-case emails, E.164 phones, then the expression)
    gives the digests of the Python functions, in embedded DuckDB."""
    t = ibis.memtable({"e": emails, "p": phones[:len(emails)] + phones[:1] * (len(emails) - len(phones))})
    out = t.select(e=hashed_identifier(t.e.strip().lower(), "email", vendor),
                   p=hashed_identifier(t.p, "phone", vendor)).to_pyarrow().to_pydict()
    assert out["e"] == [hash_email(e, vendor) for e in t.e.to_pyarrow().to_pylist()]
    assert out["p"] == [hash_phone(p, vendor) for p in t.p.to_pyarrow().to_pylist()]
