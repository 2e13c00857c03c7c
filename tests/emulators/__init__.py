"""Local emulators of audience destinations, for the tests of segrules and of destination plugins.

Test infrastructure, not part of the ``segrules`` package (the wheel does not ship them:
``tests/test_wheel.py``).  Each emulator is an HTTP server on 127.0.0.1 that keeps list state and
implements its vendor's documented contract (auth, batch limits, per-row errors, rate limiting
with the vendor's signal, async jobs), with optional fault injection (:class:`Faults`)::

    from emulators import KlaviyoEmulator, Faults

    with KlaviyoEmulator(api_key="pk_test", faults=Faults(rate_429=0.1, seed=1)) as klaviyo:
        ...  # point the destination's base_url at klaviyo.url
        assert klaviyo.list_emails("L1") == {...}

The tests import them as ``emulators`` (``tests/`` is on ``sys.path`` under pytest); a destination
plugin's own tests can copy the package or put the repository's ``tests/`` on their path.
"""

from .braze import BrazeEmulator
from .customerio import CustomerIoEmulator
from .google_ads import GoogleAdsEmulator
from .hubspot import HubSpotEmulator
from .iterable import IterableEmulator
from .klaviyo import KlaviyoEmulator
from .mailchimp import MailchimpEmulator
from .meta import MetaEmulator
from .sendgrid import SendGridEmulator
from .server import EmulatorServer, Faults
from .tracking import TrackingEmulator
from .webhook import WebhookReceiver

__all__ = ["EmulatorServer", "Faults", "BrazeEmulator", "HubSpotEmulator", "KlaviyoEmulator", "MailchimpEmulator",
           "TrackingEmulator", "WebhookReceiver", "CustomerIoEmulator", "IterableEmulator", "SendGridEmulator",
           "GoogleAdsEmulator", "MetaEmulator"]
