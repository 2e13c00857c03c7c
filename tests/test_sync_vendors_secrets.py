"""Secrets of the five destinations never leak: a server that echoes the request's credentials
(the Authorization header -- Bearer, Basic ``site_id:api_key`` -- and the request target) in a
401 or in a 400 the destination quotes as the reason of a refused batch, with the echo placed
around the 300-character cut, leaves no fragment of the secret in any form (raw, URL-encoded,
base64) in the command's output, ``sync-log`` and its exports, or the state."""

from __future__ import annotations

import ibis
import pytest

from emulators.echo import EchoServer

from sync_helpers import people_db, run_sync, write_people
from test_sync_secrets import SECRET, SPEC, _cli_texts, _everything_stored, leaks

ONE = "    max_attempts: 1\n    base_url: {url}"
VENDORS = {  # name: (environment, destination options)
    "customerio (basic site_id:key)": ({"CUSTOMERIO_SITE_ID": "site-99", "CUSTOMERIO_API_KEY": SECRET},
                                       "type: customerio\n    site_id: ${CUSTOMERIO_SITE_ID}\n"
                                       "    api_key: ${CUSTOMERIO_API_KEY}\n    segment_id: 1\n" + ONE),
    "iterable (Api-Key header)": ({"ITERABLE_API_KEY": SECRET},
                                  "type: iterable\n    api_key: ${ITERABLE_API_KEY}\n    list_id: 1\n" + ONE),
    "sendgrid (bearer)": ({"SENDGRID_API_KEY": SECRET},
                          "type: sendgrid\n    api_key: ${SENDGRID_API_KEY}\n    list_id: L\n" + ONE),
    "google_ads (bearer + developer-token)": (
        {"GOOGLE_ADS_DEVELOPER_TOKEN": SECRET, "GOOGLE_ADS_ACCESS_TOKEN": SECRET[::-1]},
        "type: google_ads\n    customer_id: '1'\n    user_list_id: '2'\n"
        "    developer_token: ${GOOGLE_ADS_DEVELOPER_TOKEN}\n    access_token: ${GOOGLE_ADS_ACCESS_TOKEN}\n" + ONE),
    "meta (bearer)": ({"META_ACCESS_TOKEN": SECRET},
                      "type: meta\n    access_token: ${META_ACCESS_TOKEN}\n    audience_id: '3'\n" + ONE),
}


class HeadersEcho(EchoServer):
    """Echoes every request header (developer-token, Api-Key...), not only Authorization."""

    def echo(self, request):
        headers = " ".join(f"{k}={v}" for k, v in sorted(request.headers.items()))
        return super().echo(request).replace(" target=", f" {headers} target=")


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_vendor_secrets_echoed_in_a_401_leave_no_trace(tmp_path, name):
    """Through the command: its output, sync-log (runs, rows, dead rows) and their exports, the state."""
    env, options = VENDORS[name]
    db, state, spec = tmp_path / "people.duckdb", tmp_path / "state.duckdb", tmp_path / "spec.yaml"
    con = ibis.duckdb.connect(str(db))
    write_people(con, {1: ("a@x.com", "A", 60), 2: ("b@x.com", "B", 70)})
    con.disconnect()
    with HeadersEcho(status=401) as echo:
        spec.write_text(SPEC.format(options=options.replace("{url}", echo.url)))
        for pad in (0, 200, 262, 290):
            echo.pad = pad
            texts = _cli_texts(tmp_path, spec, db, state, env)
            stored = _everything_stored(state)
            assert pad > 0 or "***" in texts
            assert leaks(texts) + leaks(stored) + leaks(texts, SECRET[::-1]) + leaks(stored, SECRET[::-1]) == [], pad


@pytest.mark.parametrize("name", sorted(VENDORS))
def test_vendor_secrets_echoed_in_a_refused_batch_leave_no_trace(tmp_path, name):
    """A 400 quoting the credentials: the destination refuses the batch with the vendor's text, the
    engine bisects it down to rejected rows whose reasons are shown and stored -- scrubbed."""
    env, options = VENDORS[name]
    text = SPEC.format(options=options)
    with HeadersEcho(status=400) as echo, people_db({1: ("a@x.com", "A", 60), 2: ("b@x.com", "B", 70)}) as con:
        for pad in (0, 200, 262, 290):
            echo.pad = pad
            state = tmp_path / f"s{pad}.duckdb"
            (o,) = run_sync(text.replace("{url}", echo.url), con, state, env=env)
            shown, stored = f"{o.error} {o.reasons} {o.samples}", _everything_stored(state)
            # google_ads: the 400 answers the job's creation, not a batch: the sync fails
            assert o.status == ("failed" if name.startswith("google") else "partial"), (o.status, shown)
            assert pad > 0 or "***" in shown, shown
            assert leaks(shown) + leaks(stored) + leaks(shown, SECRET[::-1]) + leaks(stored, SECRET[::-1]) == [], pad
