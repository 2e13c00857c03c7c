from datetime import datetime, timedelta, timezone

import duckdb
import pytest

from segrules.demo import DEMO_NOW, write_demo_data

NOW = datetime(2026, 11, 1)
SCHEMAS = {
    "customers": [("customer_id", "BIGINT"), ("email", "VARCHAR"), ("country", "VARCHAR"),
                  ("signup_at", "TIMESTAMP"), ("plan", "VARCHAR"), ("birth_date", "DATE"),
                  ("marketing_opt_in", "BOOLEAN")],
    "orders": [("order_id", "BIGINT"), ("customer_id", "BIGINT"), ("ordered_at", "TIMESTAMP"),
               ("amount", "DECIMAL(12,2)"), ("status", "VARCHAR")],
    "events": [("event_id", "BIGINT"), ("customer_id", "BIGINT"), ("ts", "TIMESTAMP"),
               ("name", "VARCHAR")],
}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    path = tmp_path_factory.mktemp("demo") / "shop.duckdb"
    counts = write_demo_data(path, customers=3000, seed=7, now=NOW)
    with duckdb.connect(str(path), read_only=True) as con:
        yield path, counts, con


def scalar(con, sql, *params):
    return con.execute(sql, list(params)).fetchone()[0]


def test_demo_row_counts_match_the_tables_and_the_rates(demo):
    _, counts, con = demo
    assert {t: scalar(con, f"SELECT count(*) FROM {t}") for t in SCHEMAS} == counts
    assert counts["customers"] == 3000
    assert 2.4 <= counts["orders"] / 3000 <= 3.6
    assert 16 <= counts["events"] / 3000 <= 24


def test_demo_schema_and_types(demo):
    _, _, con = demo
    for table, columns in SCHEMAS.items():
        assert con.execute(f"DESCRIBE {table}").fetchall() == [
            (name, type_, "YES", None, None, None) for name, type_ in columns
        ]


def test_demo_ids_are_unique_and_dense(demo):
    _, counts, con = demo
    for table, key in (("customers", "customer_id"), ("orders", "order_id"), ("events", "event_id")):
        assert con.execute(f"SELECT count(DISTINCT {key}), min({key}), max({key}) FROM {table}"
                           ).fetchone() == (counts[table], 1, counts[table])


def test_demo_is_deterministic_for_a_seed(tmp_path):
    def dump(path):
        with duckdb.connect(str(path), read_only=True) as con:
            return {t: con.execute(f"SELECT * FROM {t} ORDER BY 1").fetchall() for t in SCHEMAS}

    write_demo_data(tmp_path / "a.duckdb", customers=500, seed=3, now=NOW)
    write_demo_data(tmp_path / "b.duckdb", customers=500, seed=3, now=NOW)
    write_demo_data(tmp_path / "c.duckdb", customers=500, seed=4, now=NOW)
    assert dump(tmp_path / "a.duckdb") == dump(tmp_path / "b.duckdb")
    assert dump(tmp_path / "a.duckdb") != dump(tmp_path / "c.duckdb")


def test_demo_orders_and_events_reference_customers_after_signup(demo):
    _, _, con = demo
    for table, time_col in (("orders", "ordered_at"), ("events", "ts")):
        assert scalar(con, f"""
            SELECT count(*) FROM {table} x LEFT JOIN customers c USING (customer_id)
            WHERE c.customer_id IS NULL OR x.{time_col} <= c.signup_at""") == 0


def test_demo_has_no_timestamp_after_now(demo):
    _, _, con = demo
    latest = con.execute("""SELECT greatest((SELECT max(signup_at) FROM customers),
                                            (SELECT max(ordered_at) FROM orders),
                                            (SELECT max(ts) FROM events))""").fetchone()[0]
    assert NOW - timedelta(days=2) < latest <= NOW


def test_demo_times_are_strictly_increasing_per_customer(demo):
    _, _, con = demo
    for table, id_col, time_col in (("orders", "order_id", "ordered_at"), ("events", "event_id", "ts")):
        assert scalar(con, f"""
            SELECT count(*) FROM (
                SELECT {time_col} <= lag({time_col}) OVER (PARTITION BY customer_id ORDER BY {id_col})
                       AS not_after
                FROM {table}) WHERE not_after""") == 0


def test_demo_values_look_like_a_shop(demo):
    _, _, con = demo
    statuses = dict(con.execute("SELECT status, count(*) FROM orders GROUP BY ALL").fetchall())
    assert set(statuses) <= {"paid", "refunded", "cancelled", "pending"}
    assert statuses["paid"] > 0.7 * sum(statuses.values())
    names = {r[0] for r in con.execute("SELECT DISTINCT name FROM events").fetchall()}
    assert names == {"page_view", "product_view", "add_to_cart", "checkout_start", "search", "login"}
    assert scalar(con, "SELECT count(*) FROM customers WHERE email IS NULL") > 0
    assert scalar(con, "SELECT count(*) FROM customers WHERE country IS NULL") > 0
    assert scalar(con, "SELECT count(*) FROM customers WHERE email LIKE '%@GMAIL.COM'") > 0
    assert scalar(con, "SELECT count(*) FROM customers WHERE email LIKE '%@gmail.com'") > 300
    assert scalar(con, "SELECT count(*) FROM customers WHERE signup_at > ? - INTERVAL 30 DAY",
                  NOW) > 0
    # heavy tails: many customers never order, a few order a lot
    never = scalar(con, "SELECT count(*) FROM customers WHERE customer_id NOT IN "
                        "(SELECT customer_id FROM orders)")
    assert 0.2 < never / 3000 < 0.6
    assert scalar(con, "SELECT max(n) FROM (SELECT count(*) n FROM orders GROUP BY customer_id)") > 30
    assert scalar(con, "SELECT min(amount) > 0 AND max(amount) > 10 * median(amount) FROM orders")


def test_demo_overwrites_its_tables_and_keeps_others(tmp_path):
    path = tmp_path / "shop.duckdb"
    with duckdb.connect(str(path)) as con:
        con.execute("CREATE TABLE events (junk INT); CREATE TABLE notes AS SELECT 42 AS answer")
    counts = write_demo_data(path, customers=200, now=NOW)
    counts_again = write_demo_data(path, customers=100, now=NOW)
    with duckdb.connect(str(path), read_only=True) as con:
        assert scalar(con, "SELECT count(*) FROM customers") == counts_again["customers"] == 100
        assert scalar(con, "SELECT count(*) FROM events") == counts_again["events"] < counts["events"]
        assert scalar(con, "SELECT answer FROM notes") == 42
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.duckdb"]


def test_demo_failed_run_leaves_the_existing_file_intact(tmp_path):
    path = tmp_path / "shop.duckdb"
    write_demo_data(path, customers=100, now=NOW)
    before = path.read_bytes()

    def fail(stage, done, total):
        if done > 0:
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        write_demo_data(path, customers=500, now=NOW, progress=fail)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shop.duckdb"]


def test_demo_reports_progress_and_defaults_now_to_the_fixed_demo_date(tmp_path):
    calls = []
    write_demo_data(tmp_path / "shop.duckdb", customers=50,
                    progress=lambda *call: calls.append(call))
    assert calls[0] == ("generate", 0, 50) and ("generate", 50, 50) in calls
    assert calls[-2:] == [("finalize", 0, 1), ("finalize", 1, 1)]
    write_demo_data(tmp_path / "same.duckdb", customers=50, now=DEMO_NOW)
    with duckdb.connect(str(tmp_path / "shop.duckdb"), read_only=True) as con:
        default = con.execute("SELECT * FROM orders ORDER BY 1").fetchall()
        latest = scalar(con, "SELECT max(ordered_at) FROM orders")
    with duckdb.connect(str(tmp_path / "same.duckdb"), read_only=True) as con:
        assert con.execute("SELECT * FROM orders ORDER BY 1").fetchall() == default  # not the wall clock's
    assert DEMO_NOW == datetime(2026, 10, 1) and DEMO_NOW - timedelta(days=30) < latest < DEMO_NOW


def test_demo_now_none_follows_the_wall_clock(tmp_path):
    write_demo_data(tmp_path / "shop.duckdb", customers=50, now=None)
    with duckdb.connect(str(tmp_path / "shop.duckdb"), read_only=True) as con:
        latest = scalar(con, "SELECT max(signup_at) FROM customers")
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    assert now - timedelta(days=60) < latest < now


def test_demo_cli_now_and_wall_clock(tmp_path):
    from click.testing import CliRunner

    from segrules.cli import main

    def latest(*args):
        path = tmp_path / f"shop{len(args)}.duckdb"
        result = CliRunner().invoke(main, ["demo-data", str(path), "--customers", "50", *args])
        assert result.exit_code == 0, result.output
        with duckdb.connect(str(path), read_only=True) as con:
            return scalar(con, "SELECT greatest(max(signup_at), (SELECT max(ts) FROM events)) FROM customers")

    assert DEMO_NOW - timedelta(days=2) < latest() < DEMO_NOW
    assert datetime(2025, 3, 1) - timedelta(days=2) < latest("--now", "2025-03-01") < datetime(2025, 3, 1)
    wall = datetime.now(timezone.utc).replace(tzinfo=None)
    assert wall - timedelta(days=2) < latest("--wall-clock") < wall
    bad = CliRunner().invoke(main, ["demo-data", str(tmp_path / "x.duckdb"), "--now", "yesterday"])
    assert bad.exit_code == 2 and "--now" in bad.output and "'yesterday' is not a date" in bad.output


def test_demo_accepts_an_aware_now_and_empty_rates(tmp_path):
    aware = datetime(2026, 11, 1, 2, tzinfo=timezone(timedelta(hours=2)))
    counts = write_demo_data(tmp_path / "shop.duckdb", customers=20, now=aware,
                             events_per_customer=0, orders_per_customer=0)
    assert counts == {"customers": 20, "orders": 0, "events": 0}
    with duckdb.connect(str(tmp_path / "shop.duckdb"), read_only=True) as con:
        assert scalar(con, "SELECT max(signup_at) FROM customers") <= NOW
    with pytest.raises(ValueError):
        write_demo_data(tmp_path / "bad.duckdb", customers=-1)


def test_demo_data_off_a_terminal_writes_nothing_on_stderr(tmp_path):
    """In a CI log the transient progress bar is not drawn (it left an empty line on stderr)."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-m", "segrules.cli", "demo-data", str(tmp_path / "shop.duckdb"),
                           "--customers", "50"], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stderr == ""
    assert done.stdout.splitlines()[0] == "customers: 50 rows"
