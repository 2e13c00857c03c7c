"""Spec unit tests: ``<spec>.test.yaml`` files with tiny fixture tables and the membership each
case expects, run on in-memory DuckDB (``segrules test``).  The format is in docs/testing.md."""

from .loader import SpecTestDocument, read_test_file
from .runner import CaseResult, Failure, FileResult, run_test_file, find_test_files

__all__ = ["SpecTestDocument", "read_test_file", "CaseResult", "Failure", "FileResult", "run_test_file",
           "find_test_files"]
