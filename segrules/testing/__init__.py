"""Testing with segrules.

* Spec unit tests: ``<spec>.test.yaml`` files with tiny fixture tables and the membership each
  case expects, run on in-memory DuckDB (``segrules test``).  The format is in docs/testing.md.
* Local emulators of audience destinations, for tests of segrules and of destination plugins.
  Each emulator is an HTTP server on 127.0.0.1 that keeps list state and implements its vendor's
  documented contract (auth, batch limits, per-row errors, rate limiting with the vendor's signal,
  async jobs), with optional fault injection (:class:`Faults`)::

    from segrules.testing import KlaviyoEmulator, Faults

    with KlaviyoEmulator(api_key="pk_test", faults=Faults(rate_429=0.1, seed=1)) as klaviyo:
        ...  # point the destination's base_url at klaviyo.url
        assert klaviyo.list_emails("L1") == {...}
"""

from .loader import SpecTestDocument, read_test_file
from .runner import CaseResult, Failure, FileResult, find_test_files, run_test_file
from .klaviyo import KlaviyoEmulator
from .server import EmulatorServer, Faults
from .webhook import WebhookReceiver

__all__ = ["SpecTestDocument", "read_test_file", "CaseResult", "Failure", "FileResult", "run_test_file",
           "find_test_files", "EmulatorServer", "KlaviyoEmulator", "Faults", "WebhookReceiver"]
