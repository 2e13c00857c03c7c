"""``segrules serve``: the real-time membership service (docs/realtime.md)."""

from __future__ import annotations

import contextlib
import os
import signal
import sys

import click

from ..errors import SpecError
from ..params import parse_params
from .console import err, user_errors
from .options import param_option, spec_options, state_option
from .registry import load_registry

TOKEN_ENV = "SEGRULES_SERVE_TOKEN"
WEBHOOK_SECRET_ENV = "SEGRULES_SERVE_WEBHOOK_SECRET"
SWITCH_INTERVAL_SECONDS = 0.001  # Python's default: 0.005 (see serve_command)


@click.command("serve")
@spec_options("spec")
@click.option("--db", metavar="URL", help="DuckDB file or Ibis URL (postgres://) holding the spec's tables; the "
              "service keeps its own tables there too (default: the spec's target in segrules.yml).")
@param_option
@click.option("--host", default="127.0.0.1", show_default=True, help="Address to listen on.")
@click.option("--port", type=click.IntRange(0, 65535), default=8000, show_default=True, help="Port to listen on.")
@click.option("--sweep", "sweep", default="5min", show_default=True, metavar="DURATION",
              help="Re-evaluate every entity this often (30s, 5min, 1h; 0 = never): bounds the delay of "
              "time-driven changes that cannot be derived from an entity's rows (docs/realtime.md).")
@click.option("--reset", is_flag=True, help="Drop the service's stored membership and change log first.")
@click.option("--webhook", metavar="URL", help="POST every enter/exit change to URL, in order, at least once "
              "(signed with SEGRULES_SERVE_WEBHOOK_SECRET when set).")
@click.option("--sync", "sync", is_flag=True, help="Deliver the changes to the spec's destinations (its syncs: "
              "section) through the sync engine, as `segrules sync` does.")
@click.option("--snapshot", "snapshot", is_flag=True, help="Store history snapshots of the membership in the "
              "state store (as `segrules run --snapshot`), consistent with the change stream (docs/realtime.md).")
@click.option("--snapshot-every", "snapshot_every", default="1min", show_default=True, metavar="DURATION",
              help="With --snapshot: at most one snapshot this often (0: after every evaluation with changes).")
@click.option("--stream", "stream", metavar="NAME", help="Also ingest from a stream source of a plugin "
              "(register_stream_sources: a Kafka or Kinesis consumer), its offsets stored with the rows.")
@click.option("--stream-option", "stream_options", multiple=True, metavar="KEY=VALUE",
              help="An option of the --stream source (repeatable).")
@state_option(" for --sync and --snapshot")
def serve_command(specs, select, project, target, db, params, host, port, sweep, reset, webhook, sync, snapshot,
                  snapshot_every, stream, stream_options, state_url):
    """Keep one spec's membership current as rows arrive: ingest rows over HTTP, re-evaluate the
    entities they touch, serve lookups and a change stream. Needs the serve extra
    (pip install 'segrules[serve]') and a bearer token in SEGRULES_SERVE_TOKEN."""
    from ..project.options import one_spec
    from ..state.lock import parse_timeout
    with user_errors():
        token = os.environ.get(TOKEN_ENV, "")
        if not token:
            raise SpecError(f"set {TOKEN_ENV} to the bearer token clients must send", code="SR900",
                            hint="e.g. export SEGRULES_SERVE_TOKEN=$(python -c 'import secrets; "
                            "print(secrets.token_urlsafe(32))')")
        try:
            import uvicorn
            from ..serve.app import create_app
        except ImportError as exc:
            raise SpecError(f"segrules serve needs the serve extra ({exc.name} is missing)", code="SR900",
                            hint="pip install 'segrules[serve]'") from None
        from .. import api
        from ..serve.backends import check_backend
        from ..serve.service import Service
        registry = load_registry()
        chosen = one_spec("serve", specs, select, project, target, db, state_url=state_url, registry=registry,
                          needs_db=True)
        seconds = _duration("--sweep", sweep, parse_timeout)
        snapshot_seconds = _duration("--snapshot-every", snapshot_every, parse_timeout)
        check_backend(chosen.db)
        if snapshot:
            from ..serve.history import check_stability
            check_stability(chosen.spec)  # SR907 before connecting
        stream_def = stream_source(registry, stream) if stream else None
        options = stream_option_values(stream_options)
        con = api.connect(chosen.db)
        service = Service(chosen.spec, con, params=parse_params(params), sweep_every=seconds or None, reset=reset)
        outlets = []
        if webhook:
            from ..serve.delivery import ChangeWebhook
            outlets.append(ChangeWebhook(service, webhook, secret=os.environ.get(WEBHOOK_SECRET_ENV) or None))
        if sync:
            from ..serve.delivery import DestinationSync
            outlets.append(DestinationSync(service, lambda: api.connect(chosen.db), state=chosen.state_url))
        if snapshot:
            from ..serve.history import HistorySnapshots
            outlets.append(HistorySnapshots(service, state=chosen.state_url, every=snapshot_seconds))
        feeders = []
        if stream_def is not None:
            from ..serve.streams import StreamFeeder
            feeders.append(StreamFeeder(service, stream_def, options))
    # The event loop answers lookups in microseconds but must take the GIL back from the evaluation
    # and ingest threads after each socket call: a thread running Python keeps it for up to the
    # switch interval (5 ms by default), which a lookup then waits, several times per request.
    sys.setswitchinterval(SWITCH_INTERVAL_SECONDS)
    service.start()
    for outlet in [*outlets, *feeders]:
        outlet.start()
    err.print(f"serving {chosen.spec.name} on http://{host}:{port} (segments: {', '.join(service.evaluator.segments)})")
    try:  # uvicorn stops on SIGINT/SIGTERM after the requests in flight; then the worker and outlets
        config = uvicorn.Config(create_app(service, token), host=host, port=port, log_level="warning",
                                access_log=False)
        _server_class()(config).run()
    finally:  # the stream first (no new rows), then the evaluation, then the deliveries
        for feeder in feeders:
            feeder.stop()
        service.stop()
        for outlet in outlets:
            outlet.stop()
        con.disconnect()


def _duration(option: str, text: str, parse) -> float:
    try:
        return parse(text)
    except SpecError:
        raise SpecError(f"{option} {text!r}: expected a duration such as 0, 30s, 5min or 1h", code="SR900") from None


def stream_source(registry, name: str):
    """The stream source type ``name`` of the loaded plugins (SR905 naming the known ones)."""
    from ..check.schema import did_you_mean
    found = registry.stream_sources.get(name)
    if found is None:
        known = ", ".join(sorted(registry.stream_sources)) or "none: no installed plugin registers one"
        raise SpecError(f"--stream {name}: no such stream source (stream sources: {known})", code="SR905",
                        hint=did_you_mean(name, registry.stream_sources))
    return found


def stream_option_values(pairs) -> dict[str, str]:
    values = {}
    for pair in pairs:
        key, eq, value = pair.partition("=")
        if not eq or not key:
            raise SpecError(f"--stream-option {pair!r}: expected KEY=VALUE", code="SR905")
        values[key] = value
    return values


def _server_class():
    import uvicorn

    class Server(uvicorn.Server):
        """uvicorn's server, except that SIGINT/SIGTERM end ``run()`` instead of being raised again
        after the shutdown (uvicorn does that, and the process would die before the worker and the
        outlets are stopped and the database closed)."""

        @contextlib.contextmanager
        def capture_signals(self):
            previous = {sig: signal.signal(sig, self.handle_exit) for sig in (signal.SIGINT, signal.SIGTERM)}
            try:
                yield
            finally:
                for sig, handler in previous.items():
                    signal.signal(sig, handler)

    return Server

