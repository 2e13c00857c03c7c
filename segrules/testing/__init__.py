"""Spec unit tests (``segrules test``): ``<spec>.test.yaml`` files with tiny fixture tables and the
membership each case expects, run on in-memory DuckDB.  The format is in docs/testing.md.

The local emulators of audience destinations are test infrastructure and live with the tests
(``tests/emulators``), outside the runtime package.
"""

from .loader import SpecTestDocument, read_test_file
from .runner import CaseResult, Failure, FileResult, find_test_files, run_test_file

__all__ = ["SpecTestDocument", "read_test_file", "CaseResult", "Failure", "FileResult", "run_test_file",
           "find_test_files"]
