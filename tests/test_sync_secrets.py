"""Secrets never leak, in any form the request carried them (raw header, base64 of HTTP Basic,
URL-encoded query string), from any text segrules shows or stores: error messages, rejection
reasons, stdout/stderr of ``segrules sync``, the state tables and ``sync-log`` exports -- with the
echo placed across every truncation boundary of the messages.

The oracle is independent of the scrubber: it looks for any 6 consecutive characters of the
secret in the text, in the text URL-decoded, and in every base64 run of the text decoded at each
of its four alignments."""

from __future__ import annotations

import base64
import binascii
import re
from urllib.parse import unquote

import httpx
import ibis
import pytest
from click.testing import CliRunner
from pydantic import Field, SecretStr

from segrules.cli.app import main
from segrules.errors import SinkError
from segrules.plugin import (BatchRejected, BatchResult, DestinationDef, HttpClient, HttpDestination, HttpOptions,
                             Limits, Row, Scrubber, SyncContext, Vendor)
from segrules.state import open_state
from emulators.echo import EchoServer

from sync_helpers import write_people
from test_sync_bisect import _run

SECRET = "pk_9fQ2+vL7m/Z3rT8wY1kB6nD4sH0a"  # '+' and '/' differ raw, URL-encoded and in base64
FRAGMENT = 6
SCHEMES = ("header", "basic", "basic_key", "query")


def leaks(text: str, secret: str = SECRET) -> list[str]:
    """Fragments of ``secret`` found in ``text`` in any form."""
    pieces = {secret[i:i + FRAGMENT] for i in range(len(secret) - FRAGMENT + 1)}
    found = [p for p in pieces if p in text or p in unquote(text) or p in unquote(text.replace("+", " "))]
    for run in re.findall(r"[A-Za-z0-9+/_-]{8,}", text):
        for shift in range(4):
            chunk = run[shift:]
            chunk = chunk[:len(chunk) - len(chunk) % 4].replace("-", "+").replace("_", "/")
            try:
                decoded = base64.b64decode(chunk).decode("latin-1")
            except (binascii.Error, ValueError):
                continue
            found += [p for p in pieces if p in decoded]
    return sorted(set(found))


def test_sync_secrets_oracle_finds_every_form():
    token = base64.b64encode(f"segrules:{SECRET}".encode()).decode()
    assert leaks(f"Basic {token}") and leaks(f"?k={httpx.QueryParams({'k': SECRET})}") and leaks(SECRET[3:12])
    assert leaks(f"Basic {token[:20]}")  # a base64 prefix still decodes to part of the key
    assert not leaks(Scrubber([SECRET]).scrub(f"Basic {token} ?k={httpx.QueryParams({'k': SECRET})} {SECRET}"))


class EchoOptions(HttpOptions):
    url: str
    api_key: SecretStr = Field(description="${ECHO_KEY}")
    scheme: str = "header"


class EchoClient(HttpDestination):
    """A destination using one auth scheme; 400 is a refusal of the batch quoting the answer."""

    def __init__(self, options: EchoOptions, context: SyncContext):
        key = options.api_key.get_secret_value()
        kwargs: dict = {
            "header": {"headers": {"Authorization": f"Klaviyo-API-Key {key}"}},
            "basic": {"auth": httpx.BasicAuth("segrules", key)},
            "basic_key": {"auth": httpx.BasicAuth(key, "")},
            "query": {"params": {"api_key": key}},
        }[options.scheme]
        self.limits = Limits(10)
        self.http = HttpClient(options.url, options, Vendor("echo"), secrets=(key,), **kwargs)

    def send(self, op: str, rows: list[Row]) -> BatchResult:
        response = self.http.request("POST", "/batch", json={"rows": [{"key": r.key} for r in rows]},
                                     ok=(200, 400))
        if response.status_code == 400:
            raise BatchRejected(f"echo: HTTP 400 {self.http.scrubber.cut(response.text, 300)}")
        return BatchResult.except_rejected(rows, response.json()["rejected"])


ECHO = DestinationDef("echo", EchoOptions, EchoClient, secrets=("api_key",))


def _client(url: str, scheme: str) -> EchoClient:
    options = EchoOptions(url=url, api_key=SECRET, scheme=scheme, max_attempts=2, backoff_base=0.0)
    return EchoClient(options, SyncContext("s", "d", "mirror", "email", ()))


def _echo_offset(url: str, scheme: str, status: int) -> int:
    """Where the secret's form starts in the answer's text at pad 0 (to aim at the cuts)."""
    client = _client(url, scheme)
    try:
        text = client.http.client.post("/batch", json={"rows": []}).text
    finally:
        client.close()
    forms = [SECRET, httpx.QueryParams({"k": SECRET}).get("k") and str(httpx.QueryParams({"k": SECRET}))[2:]]
    for form in forms + [base64.b64encode(f"segrules:{SECRET}".encode()).decode(),
                         base64.b64encode(f"{SECRET}:".encode()).decode()]:
        if form in text:
            return text.index(form)
    raise AssertionError(f"the echo does not hold the secret: {text}")


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("status", [401, 403, 422, 400])
def test_sync_secrets_scrubbed_at_every_truncation_boundary(scheme, status):
    """Every pad from 0 to past the 300-character cut: no fragment in the error text."""
    with EchoServer(status=status) as echo:
        start = _echo_offset(echo.url, scheme, status)
        client = _client(echo.url, scheme)
        cut = set()
        try:
            for pad in range(max(0, 300 - start - 80), 300 - start + 10):
                echo.pad = pad
                with pytest.raises(SinkError) as info:
                    if status == 400:
                        client.send("add", [Row("1", "a@x.com")])
                    else:
                        client.http.request_json("POST", "/batch", json={"rows": []})
                text = str(info.value) + info.value.render()
                assert leaks(text) == [], (pad, text)
                cut.add("…" in str(info.value))
        finally:
            client.close()
        assert cut == {True, False}  # the sweep crossed the cut: the secret straddled it unscrubbed


SPEC = """\
version: 1
name: people
entity: {{table: people, key: id}}
segments:
  active:
    where: score >= 50
destinations:
  dest:
    {options}
syncs:
  to_dest:
    segment: active
    destination: dest
    identify_by: email
"""

REAL = {  # a real destination per scheme, pointed at the echo server
    "klaviyo (header)": ("KLAVIYO_API_KEY", "type: klaviyo\n    api_key: ${KLAVIYO_API_KEY}\n    list_id: L1\n"
                         "    base_url: {url}\n    max_attempts: 1"),
    "mailchimp (basic)": ("MAILCHIMP_API_KEY", "type: mailchimp\n    api_key: ${MAILCHIMP_API_KEY}\n    list_id: L1\n"
                          "    segment_id: S1\n    base_url: {url}\n    max_attempts: 1"),
    "segment (basic, key:)": ("SEGMENT_WRITE_KEY", "type: segment\n    write_key: ${SEGMENT_WRITE_KEY}\n"
                              "    base_url: {url}\n    max_attempts: 1"),
    "braze (bearer)": ("BRAZE_API_KEY", "type: braze\n    api_key: ${BRAZE_API_KEY}\n    base_url: {url}\n"
                       "    max_attempts: 1"),
}


def _everything_stored(state) -> str:
    store = open_state(state)
    try:
        return "\n".join(str(store.table(t).to_pyarrow().to_pylist()) for t in store.tables())
    finally:
        store.con.disconnect()


def _cli_texts(tmp_path, spec, db, state, env) -> str:
    runner = CliRunner()
    texts = []
    result = runner.invoke(main, ["sync", str(spec), "--db", str(db), "--state", str(state)], env=env)
    texts += [result.output, getattr(result, "stderr", "") or ""]
    assert result.exit_code == 1, result.output  # the sync failed or partial: its text is shown
    for args in (["sync-log"], ["sync-log", "--out", str(tmp_path / "runs.csv")]):
        result = runner.invoke(main, [*args, "--state", str(state)], env=env)
        texts.append(result.output)
    texts.append((tmp_path / "runs.csv").read_text())
    store = open_state(state)
    run_id = store.table("sync_runs").run_id.to_pyarrow().to_pylist()[-1]
    store.con.disconnect()
    for args in (["--run", run_id], ["--run", run_id, "--out", str(tmp_path / "rows.csv")], ["--dead"]):
        result = runner.invoke(main, ["sync-log", "--state", str(state), *args], env=env)
        texts.append(result.output)
    texts.append((tmp_path / "rows.csv").read_text())
    return "\n".join(texts)


@pytest.mark.parametrize("name", sorted(REAL))
def test_sync_secrets_real_destinations_echoed_401_leaves_no_trace(tmp_path, name):
    var, options = REAL[name]
    db, state, spec = tmp_path / "people.duckdb", tmp_path / "state.duckdb", tmp_path / "spec.yaml"
    con = ibis.duckdb.connect(str(db))
    write_people(con, {1: ("a@x.com", "A", 60), 2: ("b@x.com", "B", 70)})
    con.disconnect()
    env = {var: SECRET}
    with EchoServer(status=401) as echo:
        spec.write_text(SPEC.format(options=options.replace("{url}", echo.url)))
        for pad in (0, 262, 290):
            echo.pad = pad
            texts = _cli_texts(tmp_path, spec, db, state, env)
            assert "***" in texts
            assert leaks(texts) == [] and leaks(_everything_stored(state)) == [], pad


@pytest.mark.parametrize("scheme", SCHEMES)
@pytest.mark.parametrize("status", [200, 400, 401])
def test_sync_secrets_engine_state_and_reasons(tmp_path, scheme, status):
    """Through the engine: echoed per-row reasons (200), a refused batch bisected down to rows
    (400) and a refused key (401), at pads around the cut; state holds no fragment."""
    from sync_helpers import people_db, spec_text
    text = spec_text(f"dest:\n  type: echo\n  url: URL\n  api_key: ${{ECHO_KEY}}\n  scheme: {scheme}\n"
                     "  max_attempts: 1", "to_dest: {segment: active, destination: dest, identify_by: email}")
    with EchoServer(status=status) as echo, people_db({1: ("a@x.com", "A", 60), 2: ("b@x.com", "B", 70)}) as con:
        for pad in (200, 262, 280, 299):
            echo.pad = pad
            state = tmp_path / f"s{pad}.duckdb"
            (o,) = _run_env(text.replace("URL", echo.url), con, state)
            shown = f"{o.error} {o.reasons}"
            assert o.status in ("partial", "failed") and leaks(shown) == [], shown
            assert leaks(_everything_stored(state)) == []


def _run_env(text, con, state):
    import segrules
    from segrules.sync import SyncRun, plan_syncs
    spec = segrules.load_text(text, "spec.yaml")
    planned = plan_syncs(spec.document, None, {**spec.registry.destinations, "echo": ECHO}, env={"ECHO_KEY": SECRET})
    run = SyncRun(spec, con, open_state(state), planned, as_of="2026-11-01")
    return run.deliver(run.plan())


@pytest.mark.parametrize("scheme", SCHEMES)
def test_sync_secrets_scrubbed_from_httpx_logs(scheme, caplog):
    """A program that turns logging on sees httpx's request lines (the URL with its query
    string) without the secret."""
    import logging
    caplog.set_level(logging.DEBUG)
    with EchoServer(status=200) as echo:
        client = _client(echo.url, scheme)
        try:
            client.send("add", [Row("1", "a@x.com")])
        finally:
            client.close()
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "HTTP Request: POST" in logged and leaks(logged) == []
