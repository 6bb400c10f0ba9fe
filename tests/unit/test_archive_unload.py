"""AthenaEngine's UNLOAD path against a working Athena double: the statement Athena would run is
parsed (Athena dialect), its query transpiled back to DuckDB and run over the same Parquet archive,
and the result written as gzip JSON-lines objects into a moto S3 bucket at the TO location."""

from __future__ import annotations

import builtins
import gzip
import json
import math
import sys
from datetime import datetime, timedelta
from itertools import count

import numpy as np
import pytest
import sqlglot
from sqlglot import exp

from kaeri.analytics.archive_reader import ArchiveKpiReader
from kaeri.analytics.summary import compute, to_json
from kaeri.archive import queries
from kaeri.archive.engine import AthenaEngine, DuckDbEngine
from kaeri.predictions.nightly import NightlyConfig, compute_recommendations
from tests.unit.test_archive import SINCE, UNTIL, archive_tables, params
from tests.unit.test_kpi_reader import SHOP, T0, put_event, seeded  # noqa: F401 (fixture)

BUCKET = "kaeri-archive-test"
DATABASE = "kaeri_archive"
RESULTS = f"s3://{BUCKET}/athena-results/"


class AthenaDouble:
    """The Athena calls AthenaEngine makes, answered by DuckDB over the archive folder."""

    def __init__(self, s3, root, files=3, fail: str | None = None, running_polls=1):
        import duckdb

        self.s3, self.files, self.fail, self.running_polls = s3, files, fail, running_polls
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        self.con.execute(f"CREATE SCHEMA {DATABASE}")
        for dataset in ("events", "messages"):  # the Glue tables: every shop and day of the dataset
            glob = str(root / dataset / "*" / "*" / "*.parquet")
            self.con.execute(
                f"CREATE VIEW {DATABASE}.{dataset} AS SELECT * FROM "
                f"read_parquet('{glob}', hive_partitioning = true, union_by_name = true)"
            )
        self.executions: dict[str, dict] = {}
        self.statements: list[str] = []
        self.ids = count(1)

    def get_work_group(self, WorkGroup):
        return {
            "WorkGroup": {
                "Name": WorkGroup,
                "Configuration": {"ResultConfiguration": {"OutputLocation": RESULTS}},
            }
        }

    def start_query_execution(self, QueryString, QueryExecutionContext, WorkGroup):
        self.statements.append(QueryString)
        qid = f"q{next(self.ids):04d}"
        query, location, options = queries.parse_unload(QueryString)
        assert options == {"format": "JSON", "compression": "GZIP"}
        assert {f"{t.db}.{t.name}" for t in query.find_all(exp.Table) if t.db} <= {
            f"{DATABASE}.events",
            f"{DATABASE}.messages",
        }
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        if self.s3.list_objects_v2(Bucket=bucket, Prefix=prefix).get("KeyCount", 0):
            raise AssertionError("UNLOAD needs an empty location")  # as Athena refuses
        if self.fail:
            self.executions[qid] = {"State": "FAILED", "StateChangeReason": self.fail}
            return {"QueryExecutionId": qid}
        cursor = self.con.execute(query.sql(dialect="duckdb"))
        columns = [d[0] for d in cursor.description]
        rows = [dict(zip(columns, row, strict=True)) for row in cursor.fetchall()]
        per_file = max(1, math.ceil(len(rows) / self.files))
        for n, start in enumerate(range(0, len(rows), per_file)):
            lines = "".join(json.dumps(_as_athena_json(r)) + "\n" for r in rows[start : start + per_file])
            body = gzip.compress(lines.encode())
            self.s3.put_object(Bucket=bucket, Key=f"{prefix}{qid}_{n:05d}.gz", Body=body)
        self.executions[qid] = {"State": "SUCCEEDED", "scanned": 12345 * (len(self.statements))}
        return {"QueryExecutionId": qid}

    def get_query_execution(self, QueryExecutionId):
        execution = self.executions[QueryExecutionId]
        if self.running_polls:
            self.running_polls -= 1
            return {"QueryExecution": {"Status": {"State": "RUNNING"}}}
        status = {k: v for k, v in execution.items() if k in ("State", "StateChangeReason")}
        return {
            "QueryExecution": {
                "Status": status,
                "Statistics": {"DataScannedInBytes": execution.get("scanned", 0)},
            }
        }


def _as_athena_json(value):
    """How Athena's JSON writer spells a value: timestamps as 'YYYY-MM-DD HH:MM:SS.fff', doubles with no
    fraction as integers (the reader must give them back as floats)."""
    if isinstance(value, dict):
        return {k: _as_athena_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_as_athena_json(v) for v in value]
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%d %H:%M:%S.") + f"{value.microsecond // 1000:03d}"
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


@pytest.fixture
def archive(seeded, tmp_path):  # noqa: F811
    """The seeded shop plus browsing and a bought-together history, archived (delivered twice)."""
    for day in range(6):
        at = T0 - timedelta(days=day, hours=3)
        lines = [
            {"product_id": "p1", "category": "tea", "price": 1200, "quantity": 1},
            {"product_id": "p2", "category": "cups", "price": 800.5, "quantity": 2},
        ]
        put_event(seeded, SHOP, f"v{day}", "Product Viewed", at, f"u{day % 3}", product_id=f"p{day % 2 + 1}")
        put_event(seeded, SHOP, f"a{day}", "Product Added", at, f"u{day % 3}", sku="p3")
        put_event(
            seeded, SHOP, f"t{day}", "Order Completed", at, f"u{day % 3}", order_id=f"T{day}", products=lines
        )
    archive_tables(seeded, tmp_path, copies=2)
    seeded.s3.create_bucket(Bucket=BUCKET, CreateBucketConfiguration={"LocationConstraint": "ap-northeast-1"})
    return seeded, tmp_path


def _engines(archive, **double):
    clients, root = archive
    athena = AthenaDouble(clients.s3, root, **double)
    engine = AthenaEngine(athena, DATABASE, "kaeri-archive", s3=clients.s3, sleep=lambda _: None)
    return engine, athena, DuckDbEngine(root)


def _typed(rows, ordered=True):
    """Each value with its Python type; a query without ORDER BY (interactions) compares as a multiset."""
    typed = [{k: (type(v).__name__, v) for k, v in r.items()} for r in rows]
    return typed if ordered else sorted(typed, key=repr)


def _ordered(name):
    return queries.assembled(name).args.get("order") is not None


def _leftovers(clients):
    return clients.s3.list_objects_v2(Bucket=BUCKET, Prefix="athena-results/").get("KeyCount", 0)


@pytest.mark.parametrize("name", queries.query_names())
def test_every_query_through_unload_returns_what_duckdb_returns_types_included(archive, name):
    engine, athena, duck = _engines(archive)
    p = params() | {"together_n": 3}
    expected = duck.query(name, p)
    got = engine.query(name, p)
    assert _typed(got, _ordered(name)) == _typed(expected, _ordered(name))
    assert expected or name in ("together",)  # the seeded archive gives every query rows but this one
    (statement,) = athena.statements
    assert statement.startswith("UNLOAD (") and "unload/" in statement
    assert _leftovers(archive[0]) == 0  # the result objects are deleted once read
    assert engine.stats.queries == 1 and engine.stats.bytes_scanned == 12345


def test_results_spread_over_several_objects_are_all_read(archive):
    engine, athena, duck = _engines(archive, files=4)
    rows = engine.query("interactions", params())
    assert len(rows) >= 4 and _typed(rows, False) == _typed(duck.query("interactions", params()), False)
    # Each query unloads to a fresh prefix under the workgroup's results location.
    engine.query("interactions", params())
    first, second = (queries.parse_unload(s)[1] for s in athena.statements)
    assert first != second and first.startswith(RESULTS + "unload/")


def test_the_kpi_report_through_athena_equals_the_report_through_duckdb(archive):
    engine, _, duck = _engines(archive)
    clients = archive[0]
    via_athena = to_json(compute(ArchiveKpiReader(clients, engine).read(SHOP, SINCE, UNTIL)))
    via_duckdb = to_json(compute(ArchiveKpiReader(clients, duck).read(SHOP, SINCE, UNTIL)))
    assert via_athena == via_duckdb
    assert via_athena["orders"] == 8  # A1, A2 and the six T orders; A3 cancelled


def test_the_nightly_aggregate_through_athena_trains_the_same_model(archive):
    engine, _, duck = _engines(archive)
    now = T0 + timedelta(days=1)
    config = NightlyConfig(together_n=3)
    a = compute_recommendations(engine, SHOP, now, config)
    d = compute_recommendations(duck, SHOP, now, config)
    assert a.aggregate_rows == d.aggregate_rows > 0
    assert a.categories == d.categories == {"p1": "tea", "p2": "cups"}
    assert a.model.users == d.model.users and a.model.items == d.model.items
    for x, y in zip(a.model.recommend_all(5), d.model.recommend_all(5), strict=True):
        np.testing.assert_array_equal(x, y)
    assert a.model.together == d.model.together


def test_columns_built_in_batches_equal_duckdbs(archive):
    engine, _, duck = _engines(archive)
    via_athena = engine.query_columns("interactions", params(), batch_rows=2)
    via_duckdb = duck.query_columns("interactions", params())
    assert len(via_athena["customer_id"]) > 2
    assert via_athena.keys() == via_duckdb.keys()
    order_a = np.lexsort([via_athena[c].astype(str) for c in ("kind", "product_id", "customer_id")])
    order_d = np.lexsort([via_duckdb[c].astype(str) for c in ("kind", "product_id", "customer_id")])
    for column in via_athena:
        a, d = via_athena[column][order_a], via_duckdb[column][order_d]
        assert a.dtype == d.dtype, column
        np.testing.assert_array_equal(a, d)


def test_the_nightly_on_athena_needs_no_pyarrow(archive, monkeypatch):
    """Lambda's layers (common + numpy) have no pyarrow: the Athena path must train without it."""
    engine, _, duck = _engines(archive)
    now = T0 + timedelta(days=1)
    expected = compute_recommendations(duck, SHOP, now, NightlyConfig(together_n=3))
    for name in [m for m in sys.modules if m == "pyarrow" or m.startswith("pyarrow.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setattr(builtins, "__import__", _refusing("pyarrow", builtins.__import__))
    got = compute_recommendations(engine, SHOP, now, NightlyConfig(together_n=3))
    assert got.aggregate_rows == expected.aggregate_rows > 0
    assert got.model.users == expected.model.users and got.model.items == expected.model.items
    for x, y in zip(got.model.recommend_all(5), expected.model.recommend_all(5), strict=True):
        np.testing.assert_array_equal(x, y)


def _refusing(package, real_import):
    def guarded(name, *args, **kwargs):
        if name == package or name.startswith(package + "."):
            raise ModuleNotFoundError(f"No module named {name!r} (not in the Lambda layers)")
        return real_import(name, *args, **kwargs)

    return guarded


def test_a_failed_query_raises_with_its_name_and_athenas_reason(archive):
    engine, _, _ = _engines(archive, fail="TABLE_NOT_FOUND: Table kaeri_archive.events does not exist")
    with pytest.raises(RuntimeError, match=r"Athena query kpis failed: TABLE_NOT_FOUND: Table kaeri_archive"):
        engine.query("kpis", params())


@pytest.mark.parametrize("name", queries.query_names())
def test_every_unload_statement_parses_in_athenas_dialect(name):
    location = RESULTS + "unload/abc/"
    select = AthenaEngine(None, DATABASE, "kaeri").sql(name, params() | {"together_n": 10})
    statement = queries.unload(select, location)
    query, to, options = queries.parse_unload(statement)
    assert to == location and options == {"format": "JSON", "compression": "GZIP"}
    assert query == sqlglot.parse_one(select, read="athena")  # the query inside is the query
    with pytest.raises(ValueError, match="s3:// prefix"):
        queries.unload(select, "s3://bucket/no-trailing-slash")


def test_result_types_name_every_timestamp_and_double_column(archive):
    """json_row converts by column name: every TIMESTAMP/DOUBLE result column of every query is named."""
    _, _, duck = _engines(archive)
    for name in queries.query_names():
        text, _ = duck.sql(name, params() | {"together_n": 3})
        described = duck.con.execute("DESCRIBE " + text).fetchall()
        for column, kind, *_ in described:
            if kind.startswith("TIMESTAMP"):
                assert queries.RESULT_TYPES.get(column) == "timestamp", (name, column)
            elif kind == "DOUBLE":
                assert queries.RESULT_TYPES.get(column) == "double", (name, column)
            elif column in queries.RESULT_TYPES:
                assert queries.RESULT_TYPES[column] == "lines" and kind.startswith("STRUCT"), (name, column)


def test_objects_are_deleted_even_when_the_reader_stops_early(archive):
    engine, _, _ = _engines(archive, files=3)
    rows = engine.rows("interactions", params())
    next(rows)
    rows.close()
    assert _leftovers(archive[0]) == 0


def test_duckdb_columns_hold_each_distinct_id_once(archive):
    """The nightly's aggregate has millions of rows of few ids: equal strings must be one object."""
    _, _, duck = _engines(archive)
    ids = duck.query_columns("interactions", params())["customer_id"]
    assert len(ids) > len(set(ids))
    first = {}
    for value in ids:
        assert first.setdefault(value, value) is value
