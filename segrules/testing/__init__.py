"""Local emulators of audience destinations, for tests of segrules and of destination plugins.

Each emulator is an HTTP server on 127.0.0.1 that keeps list state and implements its vendor's
documented contract (auth, batch limits, per-row errors, rate limiting with the vendor's signal,
async jobs), with optional fault injection (:class:`Faults`)::

    from segrules.testing import KlaviyoEmulator, Faults

    with KlaviyoEmulator(api_key="pk_test", faults=Faults(rate_429=0.1, seed=1)) as klaviyo:
        ...  # point the destination's base_url at klaviyo.url
        assert klaviyo.list_emails("L1") == {...}
"""

from .server import EmulatorServer, Faults
from .webhook import WebhookReceiver

__all__ = ["EmulatorServer", "Faults", "WebhookReceiver"]
