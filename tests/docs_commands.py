"""The commands shown in README.md, docs/*.md and docs/plugins/*.md: found, run, compared.

What counts as a command, by the fence of its block:

* ```` ```console ````: a session. ``$ command`` lines (a line ending in ``\\`` continues on the
  next), each followed by the output it prints (standard output and standard error, as a terminal
  shows them). A last output line ``[exit N]`` says the command exits with ``N``; without it, 0.
  The output is compared, after :data:`PLACEHOLDERS`, with the real one.
* ```` ```sh ````: commands whose output is not shown; each must exit 0, or ``N`` when its
  comment starts with ``exit N`` (``segrules validate bad.yaml   # exit 1: ...``).
* ```` ```python ````: a snippet, run as a script; it must not raise.
* ```` ```yaml file=NAME ````: not a command; the block is written to ``NAME`` when its turn comes
  (the page says to save it there), for the commands after it.

Blocks of one page run in order in one working directory, a copy of the repository's files (as a
fresh clone has them), so a page is a walk-through: what an earlier block writes, a later one reads.
The commands run in ``bash`` with the test environment's ``bin`` first on ``PATH`` and a terminal
of :data:`COLUMNS` columns without colour (:func:`environment`).

Things outside the clone are mapped, never skipped: a ``postgres://`` URL is the test database
(``SEGRULES_POSTGRES_URL``, with the demo shop loaded into the schema :data:`PG_SCHEMA`), and so
is a file that reads libpq's variables (a profile with ``{{ env_var('PGHOST') }}``): the page's
later commands get ``PGHOST``, ``PGPORT``, ``PGUSER``, ``PGPASSWORD``, ``PGDATABASE`` and
``PGOPTIONS`` (the search path) of the test database;
``http://127.0.0.1:8765`` (the docs' webhook receiver) is a local receiver started for the run.
A block preceded by a line ``Tested at a smaller scale: `--opt value`, ...`` (visible on the page)
runs with those option values wherever the option appears (long benchmark runs).

:func:`update_page` rewrites the shown outputs of ``console`` blocks from real runs
(``python tests/test_docs_commands.py --update``).
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PAGES = ["README.md", *(f"docs/{p.name}" for p in sorted((ROOT / "docs").glob("*.md"))),
         *(f"docs/plugins/{p.name}" for p in sorted((ROOT / "docs" / "plugins").glob("*.md")))]
COLUMNS = 100
PG_SCHEMA = "docs_shop"
WEBHOOK = "http://127.0.0.1:8765"
TIMEOUT = 900

FENCE = re.compile(r"^```(?P<lang>[\w-]*)(?:[ \t]+file=(?P<file>\S+))?[ \t]*\n(?P<body>.*?)^```[ \t]*$",
                   re.M | re.S)
RUNNABLE = ("console", "sh", "python")
SCALE = re.compile(r"^Tested at a smaller scale: (?P<options>.+)$", re.M)
EXIT_LINE = re.compile(r"^\[exit (\d+)\]$")
EXIT_COMMENT = re.compile(r"#\s*exit (\d+)\b")
PG_URL = re.compile(r"postgres://[^\s#'\"]*")
PG_ENV = "env_var('PGHOST')"  # a file that reads libpq's variables: the test database (PageRun.run)

# What truly varies between runs, each replaced by a named placeholder in the real output before
# it is compared with the page (and written so by --update). Narrow on purpose.
RUN_ID = re.compile(r"(?<![0-9a-f])(?:[0-9a-f]{16}|[0-9a-f]{12})(?![0-9a-f])")  # sync, snapshot runs
CLOCK = re.compile(r"(?<![\d-])(?:(?P<year>\d{4})-)?(?P<md>\d\d-\d\d)[ T](?P<time>\d\d:\d\d:\d\d)(?:\.\d+)?")


CELL_END = re.compile(r" +[│┃]")


def _placeholder(name: str, keep=lambda m: False):
    """``name`` for a match (the match itself where ``keep``), padded to the match's width inside
    a table cell, so the columns stay aligned."""
    def replace(m: re.Match) -> str:
        if keep(m):
            return m.group(0)
        in_cell = CELL_END.match(m.string, m.end())
        return name.ljust(len(m.group(0))) if in_cell else name
    return replace


def _not_now(m: re.Match) -> bool:
    """A time printed for "when this ran" is within a day of the wall clock; a data time is not."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    try:
        stamp = datetime.fromisoformat(f"{m['year'] or now.year}-{m['md']} {m['time']}")
    except ValueError:
        return True
    return abs(stamp - now) >= timedelta(days=1)


PLACEHOLDERS: list[tuple[re.Pattern, object]] = [
    (RUN_ID, _placeholder("<run-id>")),  # uuid4 hex prefixes
    (CLOCK, _placeholder("<now>", _not_now)),  # start and end times of runs
]


@dataclass
class Command:
    page: str
    line: int  # 1-based line of the command on the page
    text: str  # as shown (continuations joined)
    kind: str  # console | sh | python | file
    expected: str | None = None  # console: the output shown; file: the file name
    exit: int = 0
    scale: dict[str, str] = field(default_factory=dict)

    @property
    def key(self) -> tuple[str, str]:
        return self.page, self.text

    def __str__(self) -> str:
        return f"{self.page}:{self.line}: {self.text.splitlines()[0]}"


@dataclass
class Block:
    page: str
    lang: str
    line: int
    span: tuple[int, int]  # the body's offsets in the page text
    commands: list[Command]


def read_page(page: str) -> str:
    return (ROOT / page).read_text(encoding="utf-8")


def blocks(page: str, text: str | None = None) -> list[Block]:
    """The runnable blocks of ``page`` (``console``, ``sh``, ``python``), in page order."""
    text = read_page(page) if text is None else text
    found = []
    for m in FENCE.finditer(text):
        lang = m.group("lang")
        if lang not in RUNNABLE and not m.group("file"):
            continue
        line = text.count("\n", 0, m.start("body")) + 1
        before = text[max(0, text.rfind("\n\n", 0, m.start() - 1)):m.start()]
        scale = _scale(before)
        body = m.group("body")
        if lang == "console":
            commands = _console(page, body, line, scale)
        elif lang == "sh":
            commands = _sh(page, body, line, scale)
        elif m.group("file"):
            commands = [Command(page, line, body, "file", expected=m.group("file"))]
        else:
            commands = [Command(page, line, body, "python")]
        found.append(Block(page, lang, line, m.span("body"), commands))
    return found


def commands(page: str) -> list[Command]:
    return [c for b in blocks(page) for c in b.commands]


def stray_prompts(page: str) -> list[str]:
    """``$ command`` lines in blocks that are not run (a session must be a ``console`` block)."""
    text = read_page(page)
    return [f"{page}:{text.count(chr(10), 0, m.start()) + 1}" for m in FENCE.finditer(text)
            if m.group("lang") not in RUNNABLE and re.search(r"^\$ ", m.group("body"), re.M)]


def _scale(text: str) -> dict[str, str]:
    m = SCALE.search(text)
    if not m:
        return {}
    return dict(re.findall(r"`(--[\w-]+) ([^`]+)`", m.group("options")))


def _logical_lines(body: str, first: int):
    """(line number, text) with ``\\`` continuations joined."""
    lines = body.splitlines()
    i = 0
    while i < len(lines):
        start, text = first + i, lines[i]
        while text.endswith("\\") and i + 1 < len(lines):
            i += 1
            text += "\n" + lines[i]
        yield start, text
        i += 1


def _console(page: str, body: str, first: int, scale) -> list[Command]:
    found: list[Command] = []
    output: list[str] = []

    def close():
        if found:
            if output and EXIT_LINE.match(output[-1]):
                found[-1].exit = int(EXIT_LINE.match(output.pop())[1])
            found[-1].expected = "".join(line + "\n" for line in output)
        output.clear()

    for line, text in _logical_lines(body, first):
        if text.startswith("$ "):
            close()
            found.append(Command(page, line, text[2:], "console", scale=scale))
        elif not found:
            raise ValueError(f"{page}:{line}: a console block starts with a '$ ' command")
        else:
            output.append(text)
    close()
    return found


def _sh(page: str, body: str, first: int, scale) -> list[Command]:
    found = []
    for line, text in _logical_lines(body, first):
        if not text.strip() or text.lstrip().startswith("#"):
            continue
        m = EXIT_COMMENT.search(text)
        found.append(Command(page, line, text, "sh", exit=int(m[1]) if m else 0, scale=scale))
    return found


# --- running -----------------------------------------------------------------------------------
def fresh_clone(dest: Path) -> Path:
    """The repository's files as a fresh clone has them (tracked and new, not ignored), in ``dest``."""
    listed = subprocess.run(["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
                            cwd=ROOT, capture_output=True, check=True).stdout.decode().split("\0")
    for name in filter(None, listed):
        src = ROOT / name
        if src.is_file():
            target = dest / name
            target.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(src, target)
    return dest


def environment(cwd: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("SEGRULES_", "COLUMNS", "LINES", "FORCE_"))}
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", COLUMNS=str(COLUMNS),
               NO_COLOR="1", TERM="dumb", PYTHONUNBUFFERED="1", TZ="UTC",
               SEGRULES_CACHE_DIR=os.environ.get("SEGRULES_CACHE_DIR", str(cwd / ".cache")))
    env.pop("CI", None)  # the commands are a user's, not the test suite's
    return env


@dataclass
class Result:
    command: Command
    ran: str  # the command line actually run
    output: str  # normalised
    exit: int

    @property
    def ok(self) -> bool:
        c = self.command
        return self.exit == c.exit and (c.kind != "console" or self.output == c.expected)

    def report(self) -> str:
        c = self.command
        head = f"{c}\n  ran: {self.ran}\n  exit {self.exit}, expected {c.exit}"
        if c.kind == "console" and self.output != c.expected:
            import difflib
            diff = difflib.unified_diff(c.expected.splitlines(), self.output.splitlines(), "shown", "real",
                                        lineterm="", n=1)
            head += "\n" + "\n".join("  " + d for d in diff)
        elif self.exit != c.exit:
            head += "\n" + "\n".join("  | " + ln for ln in self.output.splitlines()[-25:])
        return head


class PageRun:
    """Runs the commands of one page in order, in ``cwd``. ``pg_url``: the test database (None:
    PostgreSQL commands cannot run); ``webhook``: the local receiver's base URL."""

    def __init__(self, cwd: Path, pg_url: str | None, webhook: str | None):
        self.cwd, self.pg_url, self.webhook = cwd, pg_url, webhook
        self.env = environment(cwd)
        self.run_ids: list[str] = []
        self._pg_loaded = False

    def command_line(self, c: Command) -> str:
        text = c.text
        for option, value in c.scale.items():
            text = re.sub(rf"(?<![\w-]){re.escape(option)}[ =]\S+", f"{option} {value}", text)
        if PG_URL.search(text):
            if self.pg_url is None:
                raise LookupError("needs PostgreSQL: set SEGRULES_POSTGRES_URL")
            text = PG_URL.sub(self._pg(), text)
        if self.webhook:
            text = text.replace(WEBHOOK, self.webhook)
        if "<run-id>" in text:
            if not self.run_ids:
                raise LookupError("<run-id> before any output showed a run id")
            text = text.replace("<run-id>", self.run_ids[-1])
        return text

    def _pg(self) -> str:
        """The test database with the demo shop in :data:`PG_SCHEMA`, first on the search path."""
        sep = "&" if "?" in self.pg_url else "?"
        url = f"{self.pg_url}{sep}options=-csearch_path%3D{PG_SCHEMA}"
        if not self._pg_loaded:
            load_pg_shop(self.pg_url, url)
            self._pg_loaded = True
        return url

    def _pg_env(self) -> None:
        """libpq's variables for the test database with the demo shop first on the search path."""
        from urllib.parse import unquote, urlsplit
        if self.pg_url is None:
            raise LookupError("needs PostgreSQL: set SEGRULES_POSTGRES_URL")
        self._pg()
        url = urlsplit(self.pg_url)
        self.env.update(PGHOST=url.hostname or "localhost", PGPORT=str(url.port or 5432),
                        PGUSER=unquote(url.username or ""), PGPASSWORD=unquote(url.password or ""),
                        PGDATABASE=url.path.lstrip("/"), PGOPTIONS=f"-csearch_path={PG_SCHEMA}")

    def run(self, c: Command) -> Result:
        if c.kind == "file":
            if PG_ENV in c.text:
                self._pg_env()
            (self.cwd / c.expected).write_text(c.text, encoding="utf-8")
            return Result(c, f"(written to {c.expected})", c.expected, 0)
        ran = self.command_line(c)
        if c.kind == "python":
            done = subprocess.run([sys.executable, "-"], input=ran, cwd=self.cwd, env=self.env, text=True,
                                  stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
            return Result(c, "python snippet", self.normalise(done.stdout), done.returncode)
        if ran.startswith("export "):  # the page's later commands see the variables
            for word in shlex.split(ran, comments=True)[1:]:
                name, _, value = word.partition("=")
                self.env[name] = value
            return Result(c, ran, "", 0)
        done = subprocess.run(["bash", "-c", ran], cwd=self.cwd, env=self.env, text=True,
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=TIMEOUT)
        return Result(c, ran, self.normalise(done.stdout), done.returncode)

    def normalise(self, output: str) -> str:
        output = output.replace(str(self.cwd), "<clone>")
        if self.pg_url:
            output = output.replace(self.pg_url.split("@")[-1], "<postgres>")
        self.run_ids.extend(m.group(0) for m in RUN_ID.finditer(output))
        for pattern, replacement in PLACEHOLDERS:
            output = pattern.sub(replacement, output)
        return output


def load_pg_shop(admin_url: str, url: str) -> None:
    """The demo shop (``segrules demo-data`` defaults) in the schema :data:`PG_SCHEMA`."""
    import tempfile

    import ibis

    from segrules.demo import write_demo_data
    ibis.connect(admin_url).raw_sql(f"DROP SCHEMA IF EXISTS {PG_SCHEMA} CASCADE; CREATE SCHEMA {PG_SCHEMA}")
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "shop.duckdb"
        write_demo_data(path)
        duck = ibis.duckdb.connect(str(path), read_only=True)
        pg = ibis.connect(url)
        for table in ("customers", "orders", "events"):
            pg.create_table(table, duck.table(table).to_pyarrow())
        duck.disconnect()
        pg.disconnect()


def run_page(page: str, cwd: Path, pg_url: str | None, webhook: str | None,
             skip: set[tuple[str, str]] = frozenset()) -> list[Result]:
    """Run the commands of ``page`` (those whose key is not in ``skip``) in order in ``cwd``."""
    runner = PageRun(cwd, pg_url, webhook)
    return [runner.run(c) for c in commands(page) if c.key not in skip]


def update_page(page: str, results: list[Result]) -> bool:
    """Rewrite the shown output of every ``console`` command of ``page`` from ``results``."""
    text = read_page(page)
    by_line = {r.command.line: r for r in results if r.command.kind == "console"}
    new, last = [], 0
    for block in blocks(page, text):
        if block.lang != "console":
            continue
        start, end = block.span
        body = []
        for c in block.commands:
            r = by_line.get(c.line)
            output = r.output if r else c.expected or ""
            code = r.exit if r else c.exit
            body.append("$ " + c.text + "\n" + output + (f"[exit {code}]\n" if code else ""))
        new += [text[last:start], "".join(body)]
        last = end
    new.append(text[last:])
    updated = "".join(new)
    if updated != text:
        (ROOT / page).write_text(updated, encoding="utf-8")
    return updated != text
