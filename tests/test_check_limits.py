"""Issue 12: what validate accepts runs on DuckDB and PostgreSQL, and what cannot run is a
positioned diagnostic at validate.  Each reproduction of the issue is a test named after the
behaviour; the limits are those of docs/language.md ("Limits")."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import segrules
from segrules.errors import SegrulesError
from limits_helpers import NOW, Shop, outcome
from rfm_helpers import connect
from segrules.check.cycles import MAX_REFERENCE_DEPTH
from segrules.check.ranges import MAX_MONTHS, MAX_SHIFT_DAYS
from segrules.cli import main
from segrules.lang.limits import MAX_EXPR_DEPTH


@pytest.fixture(scope="module", params=["duckdb", "postgres"])
def shop(request):
    con = connect(request.param)
    shop = Shop(con)
    yield shop
    shop.drop()
    con.disconnect()


def run(shop, segments, features=None, params=None, spec_params=None):
    spec = segrules.load_text(shop.spec(segments, features, spec_params), path="spec.yaml")
    return outcome(spec, shop.con, params)


def members(rows, name):
    return sorted(key for key, row in rows.items() if row[name])


def only_error(result, code):
    kind, diags = result
    assert kind == "rejected", diags
    assert [d.code for d in diags] == [code], [d.render() if hasattr(d, "render") else d for d in diags]
    assert diags[0].span is not None and diags[0].span.line > 0
    return diags[0]


# --- long lists and chains ----------------------------------------------------------------
def test_in_list_of_400_values_runs_on_duckdb_and_postgres(shop):
    values = ", ".join(f"'c{i}'" for i in range(400))
    kind, rows = run(shop, {"s": f"country in ({values})", "n": f"country not in ({values})"})
    assert kind == "ran"
    assert members(rows, "s") == [1, 2]
    assert members(rows, "n") == [3]  # null country: unknown, not a member of either


def test_in_list_of_5000_values_with_a_null_keeps_three_valued_logic(shop):
    values = ", ".join([f"'c{i}'" for i in range(5000)] + ["null"])
    kind, rows = run(shop, {"s": f"country in ({values})", "n": f"not (country not in ({values}))"})
    assert kind == "ran"
    assert members(rows, "s") == [1, 2]
    assert members(rows, "n") == [1, 2]  # 'DE' not in (..., null) is unknown, so is its negation


def test_and_chain_of_300_runs_on_duckdb_and_postgres(shop):
    rule = " and ".join(f"customer_id != {i}" for i in range(100, 400))
    either = " or ".join(f"customer_id == {i}" for i in range(2, 302))
    kind, rows = run(shop, {"all": rule, "either": either})
    assert kind == "ran"
    assert members(rows, "all") == [1, 2, 3, 4]
    assert members(rows, "either") == [2, 3, 4]


@pytest.mark.parametrize("count", [300, 301])
def test_not_chain_of_300_runs_with_the_right_parity(shop, count):
    kind, rows = run(shop, {"s": "not " * count + "(country == 'DE')"})
    assert kind == "ran"
    assert members(rows, "s") == ([1, 2] if count % 2 else [3])


@pytest.mark.parametrize("count", [200, 201])
def test_unary_minus_chain_of_200_runs_with_the_right_sign(shop, count):
    kind, rows = run(shop, {"s": "-" * count + "customer_id < 0"}, {"v": "-" * count + "customer_id"})
    assert kind == "ran"
    assert members(rows, "s") == ([1, 2, 3, 4] if count % 2 else [])
    assert rows[2]["v"] == (-2 if count % 2 else 2)


def test_nesting_deeper_than_the_limit_is_sr250_at_the_first_node_too_deep(shop):
    # Compare (level 1), then -(1 + -(1 + ...: Neg on even levels, BinOp on odd ones; the node
    # on level MAX_EXPR_DEPTH + 1 is BinOp number MAX_EXPR_DEPTH // 2, after its "-(".
    rule = "-(1 + " * 120 + "customer_id" + ")" * 120 + " > 0"
    diag = only_error(run(shop, {"s": rule}), "SR250")
    # the rule starts at column 13: after `    where: "` (a rule starting with - is quoted in YAML)
    assert (diag.span.line, diag.span.column) == (10, 13 + 6 * (MAX_EXPR_DEPTH // 2 - 1) + 2)


def test_nesting_up_to_the_limit_runs(shop):
    k = (MAX_EXPR_DEPTH - 2) // 2  # Compare + k times (Neg, BinOp) + the column
    rule = "-(1 + " * k + "customer_id" + ")" * k + " > 0"
    kind, rows = run(shop, {"s": rule})
    assert kind == "ran" and members(rows, "s") == ([1, 2, 3, 4] if k % 2 == 0 else [])


def test_chain_of_350_segments_each_using_the_previous_runs_on_duckdb_and_postgres(shop):
    segments = {"s0": "country == 'c399' or customer_id == 1"}
    for i in range(1, 350):
        segments[f"s{i}"] = f"segment('s{i - 1}') and customer_id < {400 - i}"
    kind, rows = run(shop, segments)
    assert kind == "ran"
    assert members(rows, "s349") == [1, 2]
    assert members(rows, "s0") == [1, 2]


def test_chain_of_segments_defined_last_first_runs(shop):
    n = 300
    segments = {f"s{i}": f"segment('s{i + 1}') or customer_id == {i + 1000}" for i in range(n - 1)}
    segments[f"s{n - 1}"] = "customer_id == 4"
    kind, rows = run(shop, segments)
    assert kind == "ran" and members(rows, "s0") == [4]


def test_chain_longer_than_the_limit_is_sr502_at_the_reference(shop):
    segments = {"s0": "customer_id == 1"}
    for i in range(1, MAX_REFERENCE_DEPTH + 1):
        segments[f"s{i}"] = f"segment('s{i - 1}')"
    diag = only_error(run(shop, segments), "SR502")
    assert f"s{MAX_REFERENCE_DEPTH}" in diag.message


def test_chain_of_200_features_runs_on_duckdb_and_postgres(shop):
    features = {"f0": "customer_id"}
    features.update({f"f{i}": f"f{i - 1} + 1" for i in range(1, 200)})
    kind, rows = run(shop, {"s": "f199 > 201"}, features)
    assert kind == "ran"
    assert members(rows, "s") == [3, 4]
    assert rows[4]["f199"] == 203


# --- literal ranges and scales ------------------------------------------------------------
def test_round_of_a_decimal_to_40_digits_runs_and_keeps_the_value(shop):
    kind, rows = run(shop, {"s": "round(credit, 40) > 12"}, {"r": "round(credit, 40)", "r1": "round(credit, 1)"})
    assert kind == "ran"
    assert members(rows, "s") == [1]
    assert str(rows[1]["r"]) == "12.345" and str(rows[1]["r1"]) == "12.300"


def test_round_to_99999999999_digits_is_sr404_at_validate(shop):
    diag = only_error(run(shop, {"s": "round(spent, 99999999999) > 0"}), "SR404")
    assert "at most 308" in diag.message


def test_huge_duration_is_sr417_at_validate(shop):
    only_error(run(shop, {"s": "signup_at > now - 99999999999999999999d"}), "SR417")
    only_error(run(shop, {"s": f"signup_at > now - {MAX_SHIFT_DAYS + 1}d"}), "SR417")
    only_error(run(shop, {"s": f"count(orders within {MAX_SHIFT_DAYS * 86400 + 1}s) > 0"}), "SR417")


def test_constant_shifts_add_up_and_the_longest_allowed_runs(shop):
    half = MAX_SHIFT_DAYS // 2 + 1
    only_error(run(shop, {"s": f"signup_at > now - {half}d - {half}d"}), "SR417")
    kind, rows = run(shop, {"s": f"signup_at > now - {MAX_SHIFT_DAYS}d"}, {"t": f"now - {MAX_SHIFT_DAYS}d"})
    assert kind == "ran" and members(rows, "s") == [1, 2, 4]


def test_literal_moved_out_of_the_years_1_to_9999_is_sr418(shop):
    only_error(run(shop, {"s": "signup_at < date('9999-12-31') + 1d"}), "SR418")
    only_error(run(shop, {"s": "signup_at > date('0001-01-01') - 1h"}), "SR418")
    kind, rows = run(shop, {"s": "signup_at < timestamp('9999-12-30 00:00:00') + 1d"})
    assert kind == "ran" and members(rows, "s") == [1, 2, 4]


def test_add_months_by_a_huge_number_is_sr417_and_by_the_limit_runs(shop):
    only_error(run(shop, {"s": "add_months(signup_at, 99999999999) > now"}), "SR417")
    only_error(run(shop, {"s": f"add_months(signup_at, -{MAX_MONTHS + 1}) > now"}), "SR417")
    only_error(run(shop, {"s": "add_months(date('9990-01-01'), 120) > signup_at"}), "SR418")
    kind, rows = run(shop, {"s": f"add_months(signup_at, {MAX_MONTHS}) > now"})
    assert kind == "ran" and members(rows, "s") == [1, 2, 4]


def test_integer_constant_overflow_is_sr414_at_validate(shop):
    only_error(run(shop, {"s": "customer_id > 9223372036854775807 * 2"}), "SR414")
    only_error(run(shop, {"s": "customer_id > 9223372036854775808"}), "SR414")
    kind, rows = run(shop, {"s": "customer_id < 9223372036854775807 - 1 + 1"})
    assert kind == "ran" and members(rows, "s") == [1, 2, 3, 4]


def test_a_number_beyond_a_double_is_sr414(shop):
    only_error(run(shop, {"s": "spent > " + "9" * 400 + ".5"}), "SR414")


def test_huge_integer_in_params_is_sr414(shop):
    only_error(run(shop, {"s": "customer_id > $vip"}, spec_params={"vip": "99999999999999999999999"}), "SR414")


# --- command line -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def shop_file(tmp_path_factory):
    import ibis

    path = tmp_path_factory.mktemp("limits") / "shop.duckdb"
    con = ibis.duckdb.connect(str(path))
    shop = Shop(con)
    spec = tmp_path_factory.mktemp("spec") / "spec.yaml"
    spec.write_text(shop.spec({"vip": "spent > $vip_threshold", "dec": "round(credit, 40) > 0"},
                              params={"vip_threshold": 5, "recent": "30d"}))
    con.disconnect()
    return str(path), str(spec)


def cli(*args):
    return CliRunner().invoke(main, list(args))


@pytest.mark.parametrize("value, message", [
    ("99999999999999999999999", "out of the 64-bit range"),
    ("-9223372036854775809", "out of the 64-bit range"),
])
def test_cli_param_out_of_range_is_sr110_exit_2_not_a_type_error(shop_file, value, message):
    db, spec = shop_file
    result = cli("run", spec, "--db", db, "--as-of", NOW.isoformat(), "--param", f"vip_threshold={value}")
    assert result.exit_code == 2, result.output
    assert "SR110" in result.output and message in result.output
    assert "Traceback" not in result.output


def test_cli_duration_param_beyond_the_limit_is_sr110(shop_file):
    db, spec = shop_file
    result = cli("run", spec, "--db", db, "--param", f"recent={MAX_SHIFT_DAYS + 1}d")
    assert result.exit_code == 2 and "SR110" in result.output


def test_cli_segments_of_only_commas_is_sr112_exit_2(shop_file):
    db, spec = shop_file
    result = cli("run", spec, "--db", db, "--segments", ",,,")
    assert result.exit_code == 2, result.output
    assert "SR112" in result.output and "no segment names" in result.output


def test_cli_compile_of_round_40_on_a_decimal_prints_sql_not_a_dialect_error(shop_file):
    db, spec = shop_file
    result = cli("compile", spec, "--db", db)
    assert result.exit_code == 0, result.output
    assert "ROUND" in result.output.upper() and "dialect" not in result.output


def test_cli_compile_unknown_dialect_is_still_sr111(shop_file):
    db, spec = shop_file
    result = cli("compile", spec, "--db", db, "--dialect", "nope")
    assert result.exit_code == 2 and "SR111" in result.output


def test_string_param_with_nul_is_refused_before_any_database_sees_it(shop):
    """A NUL in a YAML file is refused at load (SR152); one passed as a parameter from Python is
    SR110, like any other parameter value out of range."""
    spec = segrules.load_text(shop.spec({"s": "email == $region"}, None, {"region": "DE"}), path="spec.yaml")
    with pytest.raises(SegrulesError) as info:
        spec.evaluate(shop.con, params={"region": "a\x00b"})
    assert [d.code for d in info.value.diagnostics] == ["SR110"]
    assert "--param region=a\x00b: contains the NUL character" in info.value.diagnostics[0].message


def test_rank_of_a_chain_of_300_features_runs(shop):
    features = {"f0": "customer_id"}
    features.update({f"f{i}": f"f{i - 1} + 1" for i in range(1, 300)})
    features["r"] = "percent_rank(f299)"
    kind, rows = run(shop, {"top": "percent_rank(f299) >= 0.5"}, features)
    assert kind == "ran"
    assert members(rows, "top") == [3, 4]
    assert rows[4]["r"] == 1.0


def test_the_longest_duration_runs_in_every_unit(shop):
    days = MAX_SHIFT_DAYS
    kind, rows = run(shop, {
        "s": f"count(orders within {days * 86400}s) > 0", "m": f"signup_at > now - {days * 1440}min",
        "h": f"signup_at > now - {days * 24}h", "w": f"count(orders within {days // 7}w) > 1"})
    assert kind == "ran"
    assert members(rows, "s") == [1, 2] and members(rows, "w") == [1]
    assert members(rows, "m") == members(rows, "h") == [1, 2, 4]


def test_decimal_arithmetic_has_one_exact_type_on_every_backend(shop):
    """``credit`` is decimal(18,3): products and sums get the SQL-standard precision and scale
    (decimal(37,3) for credit * 10**12, decimal(36,6) for credit * credit), so both backends
    compute, and return, the exact values; a product too wide for 38 digits is a double."""
    from decimal import Decimal

    features = {"big": "credit * 1000000000000", "sq": "credit * credit", "plus": "credit + 5",
                "rest": "credit % 2", "wide": "credit * credit * credit"}
    kind, rows = run(shop, {"s": "big > 0 and sq > 0"}, features)
    assert kind == "ran"
    credit = {1: Decimal("12.345"), 2: Decimal("-1.500"), 4: Decimal("0.000")}
    for key, c in credit.items():
        row = rows[key]
        assert row["big"] == c * 10**12 and row["sq"] == c * c and row["plus"] == c + 5
        assert row["rest"] == Decimal(str(abs(c) % 2)).copy_sign(c) if c else row["rest"] == 0
        assert row["wide"] == pytest.approx(float(c) ** 3)
    assert rows[3]["big"] is None and rows[3]["wide"] is None
    assert members(rows, "s") == [1]
    checked = segrules.load_text(shop.spec({"s": "big > 0"}, features), path="spec.yaml").check(shop.con)
    assert str(checked.feature_types["big"]).lstrip("!") == "decimal(37, 3)"
    assert str(checked.feature_types["sq"]).lstrip("!") == "decimal(36, 6)"
    assert str(checked.feature_types["wide"]).lstrip("!") == "float64"
