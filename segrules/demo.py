"""Realistic synthetic shop data for demos, tests and benchmarks.

:func:`write_demo_data` writes three tables into a DuckDB file::

    customers(customer_id, email, country, signup_at, plan, birth_date, marketing_opt_in)
    orders(order_id, customer_id, ordered_at, amount DECIMAL(12,2), status)
    events(event_id, customer_id, ts, name)

The shapes are those a growth team sees: signups accelerate towards ``now``; orders and events
per customer are heavy-tailed (many customers never order, a few whales order hundreds of
times); about half the customers churn at some point and go quiet; activity skews recent.
Every timestamp lies between the customer's signup and ``now``, and within one customer
times are strictly increasing, so ``first``/``last`` never meet a tie.

Generation is vectorised with numpy in fixed-size chunks of customers (each chunk with its own
random stream derived from ``seed``, so the output depends only on the arguments) and inserted
as Arrow tables; memory stays bounded by the chunk size, whatever the number of customers.
"""

from __future__ import annotations

import os
import shutil
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Callable, Iterator

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

__all__ = ["write_demo_data", "demo_now", "DEMO_TABLES", "DEMO_NOW"]

DEMO_NOW = datetime(2026, 10, 1)
"""The default reference time of the demo shop (naive UTC): its last data is just before
2026-10-01 00:00:00, so the same shop is generated on every machine and every day, and rules
evaluated ``--as-of 2026-10-01`` give the numbers the docs show. ``now=None`` follows the wall
clock instead (``segrules demo-data --wall-clock``)."""

CHUNK_CUSTOMERS = 200_000
"""Customers per generated chunk. Part of the output's definition: changing it changes the data."""

DEMO_TABLES = {
    "customers": pa.schema([
        ("customer_id", pa.int64()), ("email", pa.string()), ("country", pa.string()),
        ("signup_at", pa.timestamp("us")), ("plan", pa.string()), ("birth_date", pa.date32()),
        ("marketing_opt_in", pa.bool_()),
    ]),
    "orders": pa.schema([
        ("order_id", pa.int64()), ("customer_id", pa.int64()), ("ordered_at", pa.timestamp("us")),
        ("amount", pa.decimal128(12, 2)), ("status", pa.string()),
    ]),
    "events": pa.schema([
        ("event_id", pa.int64()), ("customer_id", pa.int64()), ("ts", pa.timestamp("us")),
        ("name", pa.string()),
    ]),
}

_US_PER_DAY = 86_400_000_000
_HISTORY_US = 3 * 365 * _US_PER_DAY  # signups spread over the three years before now
_SIGNUP_SHAPE = 1.6  # signup time fraction t = u ** (1 / k): density grows towards now
_CHURN_SHARE = 0.45  # customers who stop being active at some point of their tenure
_CHURN_SHAPE = 0.7  # churned customers are active for the fraction r ** 0.7 of their tenure
_ACTIVITY_FLOOR = 0.15  # a brand-new customer still gets some activity
# E[active span] = E[tenure] * E[active fraction], both closed forms of the shapes above; the
# expected count per customer is normalised by it so the means match the requested rates.
_MEAN_WEIGHT = _ACTIVITY_FLOOR + (1 / (_SIGNUP_SHAPE + 1)) * (
    (1 - _CHURN_SHARE) + _CHURN_SHARE / (1 + _CHURN_SHAPE)
)

_COUNTRIES = ("US", "GB", "DE", "FR", "ES", "IT", "NL", "CA", "AU", "BR", "MX", "IN", "JP", "SE",
              "PL", "AT", "CH", "AR", "CO", "IE")
_COUNTRY_WEIGHTS = (30, 10, 9, 7, 5, 5, 3, 5, 4, 5, 3, 4, 3, 2, 2, 1.2, 1.2, 1, 1, 1)
_COUNTRY_NULL_SHARE = 0.03
_PLANS, _PLAN_WEIGHTS = ("free", "basic", "pro", "enterprise"), (60, 25, 12, 3)
_STATUSES, _STATUS_WEIGHTS = ("paid", "refunded", "cancelled", "pending"), (84, 6, 5, 5)
_PENDING_MAX_AGE_US = 10 * _US_PER_DAY  # older pending orders have settled as paid
_EVENT_NAMES = ("page_view", "product_view", "search", "add_to_cart", "login", "checkout_start")
_EVENT_WEIGHTS = (45, 25, 12, 8, 7, 3)
_DOMAINS = ("gmail.com", "yahoo.com", "outlook.com", "hotmail.com", "icloud.com", "GMAIL.COM",
            "gmx.de", "web.de", "orange.fr", "acme.io", "globex.com", "initech.co.uk",
            "umbrella-corp.com", "example.org")
_DOMAIN_WEIGHTS = (33, 9, 8, 6, 6, 2, 3, 2, 2, 4, 3, 2, 2, 1)
_FIRST_NAMES = ("james", "mary", "john", "patricia", "robert", "jennifer", "michael", "linda",
                "david", "elizabeth", "william", "barbara", "richard", "susan", "joseph", "jessica",
                "thomas", "sarah", "charles", "karen", "luca", "sofia", "lukas", "emma", "hugo",
                "chloe", "mateo", "lucia", "noah", "olivia", "liam", "mia", "oliver", "amelia",
                "ana", "joao", "yuki", "haruto", "aarav", "priya", "lars", "freya", "jan", "zofia")
_LAST_NAMES = ("smith", "johnson", "williams", "brown", "jones", "garcia", "miller", "davis",
               "rodriguez", "martinez", "mueller", "schmidt", "schneider", "fischer", "martin",
               "bernard", "dubois", "rossi", "russo", "ferrari", "silva", "santos", "oliveira",
               "dejong", "devries", "tanaka", "suzuki", "sato", "sharma", "patel", "nilsson",
               "kowalski", "nowak", "obrien", "murphy", "walsh", "taylor", "wilson", "evans", "lee")
_SEPARATORS, _SEPARATOR_WEIGHTS = (".", "_", ""), (55, 15, 30)
_EMAIL_NULL_SHARE = 0.015
_EMAIL_CAPITALISED_SHARE = 0.1  # "John.Smith@..."
_EMAIL_TEST_SHARE = 0.003  # "test+123@example.org" accounts made by QA


def write_demo_data(
    path: str | Path,
    customers: int = 10_000,
    seed: int = 42,
    events_per_customer: float = 20.0,
    orders_per_customer: float = 3.0,
    now: datetime | None = DEMO_NOW,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict[str, int]:
    """Write the demo tables ``customers``, ``orders`` and ``events`` into the DuckDB file ``path``.

    ``now`` is the reference time (naive UTC; an aware datetime is converted); it defaults to
    :data:`DEMO_NOW`, so the data is the same every day; ``None`` means the current UTC time
    truncated to the second.  No timestamp is after ``now``: evaluate rules ``as_of=now`` (or
    later) so that ``within 30d`` finds members.  The rates are means per customer.  The result depends only on
    the arguments.

    An existing file keeps its other tables; the three demo tables are replaced.  The work is
    done on a temporary copy that is renamed into place at the end, so a failed run leaves the
    existing file as it was.  ``progress(stage, done, total)`` is called with stage
    ``"generate"`` (customers written so far of ``customers``) and ``"finalize"`` (0 of 1, then
    1 of 1).  Returns the row count of each table.
    """
    if customers < 0 or events_per_customer < 0 or orders_per_customer < 0:
        raise ValueError("customers and the per-customer rates must not be negative")
    now = _naive_utc(now)
    now_us = (now - datetime(1970, 1, 1)) // timedelta(microseconds=1)
    path = Path(path)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    _remove_database(tmp)
    try:
        if path.exists():
            _copy_database(path, tmp)
        counts = _write_tables(tmp, customers, seed, events_per_customer, orders_per_customer,
                               now_us, progress or (lambda stage, done, total: None))
        os.replace(tmp, path)
    except BaseException:
        _remove_database(tmp)
        raise
    Path(f"{path}.wal").unlink(missing_ok=True)  # stale: its content is in the file we copied
    return counts


def demo_now(text: str, wall_clock: bool = False) -> datetime | None:
    """``now`` for ``segrules demo-data --now TEXT`` (a date or timestamp, UTC) or ``--wall-clock``
    (None: the current time). Raises ValueError for text that is neither."""
    if wall_clock:
        return None
    try:
        return datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not a date or timestamp (use 2026-10-01 or 2026-10-01T12:00:00)") from None


def _naive_utc(now: datetime | None) -> datetime:
    if now is None:
        return datetime.now(timezone.utc).replace(tzinfo=None, microsecond=0)
    if now.tzinfo is not None:
        return now.astimezone(timezone.utc).replace(tzinfo=None)
    return now


def _copy_database(path: Path, tmp: Path) -> None:
    shutil.copyfile(path, tmp)
    wal = Path(f"{path}.wal")
    if wal.exists():
        shutil.copyfile(wal, f"{tmp}.wal")


def _remove_database(tmp: Path) -> None:
    tmp.unlink(missing_ok=True)
    Path(f"{tmp}.wal").unlink(missing_ok=True)


def _write_tables(db: Path, customers: int, seed: int, events_rate: float, orders_rate: float,
                  now_us: int, progress: Callable[[str, int, int], None]) -> dict[str, int]:
    counts = dict.fromkeys(DEMO_TABLES, 0)
    with duckdb.connect(str(db)) as con:
        for table in DEMO_TABLES:
            con.execute(f'DROP TABLE IF EXISTS "{table}"')
        con.execute("CHECKPOINT")  # free the old tables' blocks for reuse by the new ones
        for table, schema in DEMO_TABLES.items():
            con.register("schema_only", schema.empty_table())
            con.execute(f'CREATE TABLE "{table}" AS SELECT * FROM schema_only')
            con.unregister("schema_only")
        progress("generate", 0, customers)
        for stop, chunk in _chunks(seed, customers, orders_rate, events_rate, now_us):
            for table, rows in chunk.items():
                if table != "customers":  # their ids run on across chunks
                    ids = np.arange(counts[table] + 1, counts[table] + 1 + rows.num_rows)
                    rows = rows.add_column(0, DEMO_TABLES[table].field(0), pa.array(ids))
                con.register("chunk", rows)
                con.execute(f'INSERT INTO "{table}" SELECT * FROM chunk')
                con.unregister("chunk")
                counts[table] += rows.num_rows
            progress("generate", stop, customers)
        progress("finalize", 0, 1)
        con.execute("CHECKPOINT")
    progress("finalize", 1, 1)
    return counts


def _chunks(seed: int, customers: int, orders_rate: float, events_rate: float,
            now_us: int) -> Iterator[tuple[int, dict[str, pa.Table]]]:
    """(customers done, tables) per chunk.  The next chunk is generated in a worker thread (numpy
    mostly runs without the GIL) while the caller inserts the current one into DuckDB."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        previous = None
        for start in range(0, customers, CHUNK_CUSTOMERS):
            future = pool.submit(_generate_chunk, seed, start, customers, orders_rate,
                                 events_rate, now_us)
            if previous is not None:
                yield start, previous.result()
            previous = future
        if previous is not None:
            yield customers, previous.result()


def _generate_chunk(seed: int, start: int, total: int, orders_rate: float, events_rate: float,
                    now_us: int) -> dict[str, pa.Table]:
    """The chunk of customers from id ``start + 1`` (ids grow with signup time) with their orders
    and events; orders and events come without their ids, which run on across chunks."""
    rng = np.random.default_rng(np.random.SeedSequence([seed, start // CHUNK_CUSTOMERS]))
    stop = min(start + CHUNK_CUSTOMERS, total)
    n = stop - start
    ids = np.arange(start + 1, stop + 1, dtype=np.int64)
    signup_fraction = ((np.arange(start, stop) + rng.random(n)) / total) ** (1 / _SIGNUP_SHAPE)
    signup_us = now_us - _HISTORY_US + (signup_fraction * _HISTORY_US).astype(np.int64)
    signup_us = np.minimum(signup_us, now_us - 3_000_000)
    # Activity runs from 1 s after signup until 1 s before now, or until the customer churned.
    churned = rng.random(n) < _CHURN_SHARE
    active_fraction = np.where(churned, rng.random(n) ** _CHURN_SHAPE, 1.0)
    active_us = (now_us - 2_000_000 - signup_us) * active_fraction
    weight = (_ACTIVITY_FLOOR + active_us / _HISTORY_US) / _MEAN_WEIGHT
    buyer_z = rng.standard_normal(n)
    browser_z = 0.6 * buyer_z + 0.8 * rng.standard_normal(n)  # browsers tend to be buyers
    n_orders = rng.poisson(orders_rate * weight * _unit_lognormal(buyer_z, 1.3))
    n_events = rng.poisson(events_rate * weight * _unit_lognormal(browser_z, 1.1))
    spend_level = rng.normal(0.0, 0.4, n)

    orders_of = np.repeat(np.arange(n), n_orders)
    ordered_at = _activity_times(rng, n_orders, orders_of, signup_us, active_us)
    cents = np.rint(np.exp(3.5 + spend_level[orders_of] + 0.8 * rng.standard_normal(len(orders_of))) * 100)
    status = rng.choice(len(_STATUSES), len(orders_of), p=_probabilities(_STATUS_WEIGHTS))
    settled = (status == _STATUSES.index("pending")) & (ordered_at < now_us - _PENDING_MAX_AGE_US)
    status[settled] = _STATUSES.index("paid")

    events_of = np.repeat(np.arange(n), n_events)
    return {
        "customers": pa.Table.from_arrays([
            pa.array(ids),
            _emails(rng, ids),
            _weighted_labels(rng, _COUNTRIES, _COUNTRY_WEIGHTS, n,
                             null_mask=rng.random(n) < _COUNTRY_NULL_SHARE),
            _timestamps(signup_us),
            _weighted_labels(rng, _PLANS, _PLAN_WEIGHTS, n),
            _birth_dates(rng, now_us, n),
            pa.array(rng.random(n) < 0.55),
        ], schema=DEMO_TABLES["customers"]),
        "orders": pa.Table.from_arrays([
            pa.array(ids[orders_of]),
            _timestamps(ordered_at),
            _cents_to_decimal(np.maximum(cents, 99).astype(np.int64)),
            pc.take(pa.array(_STATUSES), pa.array(status)),
        ], schema=DEMO_TABLES["orders"].remove(0)),
        "events": pa.Table.from_arrays([
            pa.array(ids[events_of]),
            _timestamps(_activity_times(rng, n_events, events_of, signup_us, active_us)),
            _weighted_labels(rng, _EVENT_NAMES, _EVENT_WEIGHTS, len(events_of)),
        ], schema=DEMO_TABLES["events"].remove(0)),
    }


def _unit_lognormal(z: np.ndarray, sigma: float) -> np.ndarray:
    """exp(sigma * z) scaled to mean 1 for standard normal z: the heavy tail of activity."""
    return np.exp(sigma * z - sigma * sigma / 2)


def _probabilities(weights: tuple[float, ...]) -> np.ndarray:
    p = np.asarray(weights, dtype=np.float64)
    return p / p.sum()


def _activity_times(rng: np.random.Generator, counts: np.ndarray, owner: np.ndarray,
                    signup_us: np.ndarray, active_us: np.ndarray) -> np.ndarray:
    """Times of ``counts[i]`` rows per customer, strictly increasing, skewed towards the end of
    the customer's active span (density grows linearly)."""
    position = np.sqrt(_increasing_fractions(rng, counts))
    times = signup_us[owner] + 1_000_000 + (active_us[owner] * position).astype(np.int64)
    # Microsecond ties are rare but would make first/last ambiguous: push them apart.
    while True:
        tie = np.flatnonzero((times[1:] <= times[:-1]) & (owner[1:] == owner[:-1])) + 1
        if not tie.size:
            return times
        times[tie] = times[tie - 1] + 1


def _increasing_fractions(rng: np.random.Generator, counts: np.ndarray) -> np.ndarray:
    """``counts[i]`` numbers in (0, 1) per group, increasing within the group: the order
    statistics of uniforms, as normalised cumulative exponential spacings (no sort needed)."""
    spacings = counts + 1
    cumulative = np.cumsum(rng.standard_exponential(int(spacings.sum())))
    closing = np.cumsum(spacings) - 1  # each group's last spacing only normalises
    before = np.concatenate(([0.0], cumulative[closing[:-1]]))
    length = cumulative[closing] - before
    keep = np.ones(len(cumulative), dtype=bool)
    keep[closing] = False
    group = np.repeat(np.arange(len(counts)), counts)
    return (cumulative[keep] - before[group]) / length[group]


def _weighted_labels(rng: np.random.Generator, labels: tuple[str, ...], weights: tuple[float, ...],
                     size: int, null_mask: np.ndarray | None = None) -> pa.Array:
    picks = rng.choice(len(labels), size, p=_probabilities(weights))
    return pc.take(pa.array(labels), pa.array(picks, mask=null_mask))


def _timestamps(micros: np.ndarray) -> pa.Array:
    return pa.array(micros.view("datetime64[us]"))


def _cents_to_decimal(cents: np.ndarray) -> pa.Array:
    """DECIMAL(12,2) built from its unscaled 128-bit little-endian integers: exact, no Python."""
    words = np.empty((len(cents), 2), dtype=np.int64)
    words[:, 0] = cents
    words[:, 1] = cents >> 63  # sign extension of the high word
    return pa.Array.from_buffers(pa.decimal128(12, 2), len(cents), [None, pa.py_buffer(words)])


def _birth_dates(rng: np.random.Generator, now_us: int, size: int) -> pa.Array:
    age_days = (18 + np.minimum(rng.gamma(3.0, 6.0, size), 72)) * 365.25
    days = (now_us // _US_PER_DAY - age_days).astype(np.int32)
    return pa.array(days, type=pa.int32(), mask=rng.random(size) < 0.05).cast(pa.date32())


def _emails(rng: np.random.Generator, ids: np.ndarray) -> pa.Array:
    """``first.last42@gmail.com`` and kin; some capitalised, some ``@GMAIL.COM``, some test
    accounts, a few missing."""
    n = len(ids)
    capitalised = pa.array(rng.random(n) < _EMAIL_CAPITALISED_SHARE)
    parts = []
    for names in (_FIRST_NAMES, _LAST_NAMES):
        picks = pa.array(rng.integers(len(names), size=n))
        parts.append(pc.if_else(capitalised, pc.take(pa.array([s.capitalize() for s in names]), picks),
                                pc.take(pa.array(names), picks)))
    has_number = pa.array(rng.random(n) < 0.55)
    number = pc.if_else(has_number, pc.cast(pa.array(rng.integers(1, 2000, n)), pa.string()), "")
    separator = _weighted_labels(rng, _SEPARATORS, _SEPARATOR_WEIGHTS, n)
    domain = _weighted_labels(rng, _DOMAINS, _DOMAIN_WEIGHTS, n)
    email = pc.binary_join_element_wise(parts[0], separator, parts[1], number, "@", domain, "")
    test_account = pc.binary_join_element_wise("test+", pc.cast(pa.array(ids), pa.string()),
                                               "@example.org", "")
    email = pc.if_else(pa.array(rng.random(n) < _EMAIL_TEST_SHARE), test_account, email)
    return pc.if_else(pa.array(rng.random(n) < _EMAIL_NULL_SHARE), pa.nulls(n, pa.string()), email)
