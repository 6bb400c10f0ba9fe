"""Engines that run the archive's queries: DuckDB over the local Parquet folder, Athena on AWS.

Both return rows as dicts and count what they scanned (DuckDB: rows read from Parquet; Athena: bytes
scanned, which is what Athena bills).
"""

from __future__ import annotations

import gzip
import json
import time
import uuid
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kaeri.archive import queries


class Engine(Protocol):
    def query(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]: ...

    def query_columns(self, name: str, params: dict[str, Any]) -> dict[str, Any]: ...


@dataclass
class Stats:
    queries: int = 0
    rows_scanned: int = 0
    bytes_scanned: int = 0
    by_query: dict[str, int] = field(default_factory=dict)
    ran: list[tuple[str, dict[str, Any]]] = field(default_factory=list)  # each query and its parameters


def _aware(value: Any) -> Any:
    return value.replace(tzinfo=UTC) if isinstance(value, datetime) and value.tzinfo is None else value


class DuckDbEngine:
    """DuckDB over `<root>/<dataset>/shop_id=*/dt=*/*.parquet` (the local stack's archive)."""

    def __init__(self, root: str | Path, memory_limit: str | None = None, threads: int | None = None) -> None:
        import duckdb

        self.root = Path(root)
        self.stats = Stats()
        self._footers: dict[Path, tuple[int, dict[str, int]]] = {}
        self.con = duckdb.connect()
        self.con.execute("SET TimeZone = 'UTC'")
        if memory_limit:
            self.con.execute(f"SET memory_limit = '{memory_limit}'")
        if threads:
            self.con.execute(f"SET threads = {int(threads)}")

    def _files(self, dataset: str, shop_id: str) -> list[Path]:
        return sorted((self.root / dataset / f"shop_id={shop_id}").glob("dt=*/*.parquet"))

    def _source(self, dataset: str, shop_id: str) -> str:
        files = self._files(dataset, shop_id)
        if not files:
            # No files yet: an empty relation with the archive's columns.
            import pyarrow as pa

            from kaeri.archive.schema import DATASETS, arrow_schema

            name = f"_empty_{dataset}"
            self.con.register(name, pa.Table.from_pylist([], schema=arrow_schema(DATASETS[dataset])))
            return f"(SELECT *, CAST(NULL AS VARCHAR) AS shop_id, CAST(NULL AS VARCHAR) AS dt FROM {name})"
        glob = str(self.root / dataset / f"shop_id={shop_id}" / "dt=*" / "*.parquet").replace("'", "''")
        return f"(SELECT * FROM read_parquet('{glob}', hive_partitioning = true, union_by_name = true))"

    def _footer(self, path: Path) -> tuple[int, dict[str, int]]:
        """A file's rows and compressed bytes per top-level column (archive files are written once)."""
        cached = self._footers.get(path)
        if cached is None:
            import pyarrow.parquet as pq

            meta = pq.ParquetFile(path).metadata
            sizes: dict[str, int] = {}
            for g in range(meta.num_row_groups):
                group = meta.row_group(g)
                for c in range(group.num_columns):
                    chunk = group.column(c)
                    top = chunk.path_in_schema.split(".")[0]
                    sizes[top] = sizes.get(top, 0) + chunk.total_compressed_size
            cached = self._footers[path] = (meta.num_rows, sizes)
        return cached

    def _in_range(self, dataset: str, shop_id: str, since_day: str, until_day: str) -> list[Path]:
        return [
            path
            for path in self._files(dataset, shop_id)
            if since_day <= path.parent.name.removeprefix("dt=") <= until_day
        ]

    def rows_in_range(self, dataset: str, shop_id: str, since_day: str, until_day: str) -> int:
        """Rows in the partitions a query for this shop and period reads (what it scans)."""
        return sum(self._footer(p)[0] for p in self._in_range(dataset, shop_id, since_day, until_day))

    def sql(self, name: str, params: dict[str, Any]) -> tuple[str, set[str]]:
        """The query as DuckDB runs it over this folder, and the datasets it reads (nothing counted)."""
        from sqlglot import exp

        shop_id = str(params["shop_id"])
        tree = queries.bind(name, params)
        read: set[str] = set()
        for table in list(tree.find_all(exp.Table)):
            if table.name in queries.BASE_TABLES:
                dataset = queries.BASE_TABLES[table.name]
                read.add(dataset)
                source = self._source(dataset, shop_id)
                table.replace(exp.alias_(exp.maybe_parse(source, dialect="duckdb"), table.alias_or_name))
        # The event views are inlined where they are read (DuckDB would materialize a CTE read twice):
        # each reader's own filters and columns go into its Parquet scan instead of one shared scan.
        for cte in tree.find_all(exp.CTE):
            if cte.alias_or_name in queries.SCAN_VIEWS:
                cte.set("materialized", False)
        return tree.sql(dialect="duckdb"), read

    def _sql(self, name: str, params: dict[str, Any]) -> str:
        text, read = self.sql(name, params)
        shop_id = str(params["shop_id"])
        since_day, until_day = str(params.get("since_day", "")), str(params.get("until_day", "9999"))
        scanned = sum(self.rows_in_range(d, shop_id, since_day, until_day) for d in read)
        self.stats.queries += 1
        self.stats.rows_scanned += scanned
        self.stats.by_query[name] = self.stats.by_query.get(name, 0) + scanned
        self.stats.ran.append((name, dict(params)))
        return text

    def scans(self, name: str, params: dict[str, Any]) -> list[tuple[str, frozenset[str]]]:
        """Each Parquet scan of the query's plan: its dataset and the columns it reads (kept or filtered).

        From DuckDB's physical plan (EXPLAIN, nothing runs). A scan's dataset is the one whose columns
        it names; a scan naming only columns both have counts as the bigger dataset, events.
        """
        import json
        import re

        from kaeri.archive.schema import DATASETS

        text, read = self.sql(name, params)
        ((_, plan),) = self.con.execute("EXPLAIN (FORMAT JSON) " + text).fetchall()
        columns = {d: {c.name for c in DATASETS[d].columns} for d in read}
        out: list[tuple[str, frozenset[str]]] = []

        def walk(node: dict[str, Any]) -> None:
            info = node.get("extra_info") or {}
            if "READ_PARQUET" in str(info.get("Function", "")).upper():
                filters = info.get("Filters") or []
                words = set(
                    re.findall(r"[a-z_]+", " ".join(filters if isinstance(filters, list) else [filters]))
                )
                projected = info.get("Projections") or []
                named = set(projected if isinstance(projected, list) else [projected]) | words
                known = named & set().union(*columns.values())
                owners = [d for d in sorted(read) if known <= columns[d]]
                dataset = owners[0] if len(owners) == 1 else ("events" if "events" in read else min(read))
                out.append((dataset, frozenset(named & columns.get(dataset, set()))))
            for child in node.get("children") or []:
                walk(child)

        for root in json.loads(plan):
            walk(root)
        return out

    def athena_bytes(self, name: str, params: dict[str, Any]) -> int:
        """What Athena would bill for the query on these files: the compressed bytes of the columns each
        scan reads, in the partitions of the shop and period (row groups are not pruned: an upper bound;
        Athena's 10 MB minimum per query is the caller's to apply)."""
        shop_id = str(params["shop_id"])
        since_day, until_day = str(params.get("since_day", "")), str(params.get("until_day", "9999"))
        total = 0
        for dataset, cols in self.scans(name, params):
            for path in self._in_range(dataset, shop_id, since_day, until_day):
                sizes = self._footer(path)[1]
                total += sum(sizes.get(c, 0) for c in cols)
        return total

    def query(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        cursor = self.con.execute(self._sql(name, params))
        columns = [d[0] for d in cursor.description]
        return [dict(zip(columns, (_aware(v) for v in row), strict=True)) for row in cursor.fetchall()]

    def query_arrow(self, name: str, params: dict[str, Any]) -> Any:
        """The result as a pyarrow Table (columnar: no Python object per row)."""
        relation = self.con.sql(self._sql(name, params))
        return relation.to_arrow_table() if hasattr(relation, "to_arrow_table") else relation.arrow()

    def query_columns(self, name: str, params: dict[str, Any]) -> dict[str, Any]:
        """The result as numpy columns (see `columns_of`), read through Arrow (local: pyarrow is here)."""
        import pyarrow.types as pa_types

        table = self.query_arrow(name, params)
        out: dict[str, Any] = {}
        for column in table.column_names:
            values = table.column(column)
            if queries.RESULT_TYPES.get(column) == "timestamp":
                out[column] = values.cast("timestamp[ms]").to_numpy().astype("datetime64[ms]")
            elif pa_types.is_string(values.type) or pa_types.is_large_string(values.type):
                # Each distinct id once: the cells point at one str each (8 bytes a cell, not ~55).
                out[column] = _shared_strings(values)
            else:
                out[column] = values.to_numpy(zero_copy_only=False)
        return out

    def close(self) -> None:
        self.con.close()


class AthenaEngine:
    """Athena over the Glue tables of the archive (the same SQL, transpiled to Trino).

    A query runs as `UNLOAD (<query>) TO '<results>/unload/<uuid>/' WITH (format = 'JSON', compression =
    'GZIP')`: Athena writes the result as gzip JSON-lines objects (in parallel, several of them), which
    are streamed back from S3 one line at a time and deleted once read. Memory is one row plus what the
    caller keeps, whatever the result's size, and the requests are a handful per query (no 1,000-row
    GetQueryResults pages). The results location is the workgroup's (read once), unless given.
    """

    def __init__(
        self,
        athena: Any,
        database: str,
        workgroup: str,
        s3: Any = None,
        results: str | None = None,
        poll_seconds: float = 0.5,
        sleep: Any = time.sleep,
    ) -> None:
        self.athena = athena
        self.database = database
        self.workgroup = workgroup
        self.s3 = s3
        self._results = results
        self.poll_seconds = poll_seconds
        self.sleep = sleep
        self.stats = Stats()

    def sql(self, name: str, params: dict[str, Any]) -> str:
        tables = {base: f"{self.database}.{dataset}" for base, dataset in queries.BASE_TABLES.items()}
        return queries.render(name, params, queries.ATHENA_DIALECT, tables)

    def results(self) -> str:
        """`s3://bucket/prefix/` Athena writes to: the workgroup's enforced output location."""
        if self._results is None:
            group = self.athena.get_work_group(WorkGroup=self.workgroup)["WorkGroup"]
            location = group.get("Configuration", {}).get("ResultConfiguration", {}).get("OutputLocation")
            if not location:
                raise RuntimeError(f"Athena workgroup {self.workgroup} has no output location")
            self._results = location if location.endswith("/") else location + "/"
        return self._results

    def unload_sql(self, name: str, params: dict[str, Any], location: str) -> str:
        return queries.unload(self.sql(name, params), location)

    def query(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        return list(self.rows(name, params))

    def query_columns(self, name: str, params: dict[str, Any], batch_rows: int = 50_000) -> dict[str, Any]:
        """The result as numpy columns (see `columns_of`), streamed from the UNLOAD output.

        No pyarrow on Lambda: rows are gathered a batch at a time into numpy arrays, repeated strings
        (customer and product ids, kinds) share one object, so memory is about 8 bytes a string cell
        and 8 a number, plus each distinct id once."""
        return columns_of(self.rows(name, params), batch_rows)

    def rows(self, name: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        """The query's rows as they are read from the UNLOAD output (then the objects are deleted)."""
        location = f"{self.results()}unload/{uuid.uuid4().hex}/"
        started = self.athena.start_query_execution(
            QueryString=self.unload_sql(name, params, location),
            QueryExecutionContext={"Database": self.database},
            WorkGroup=self.workgroup,
        )
        execution = self._wait(name, started["QueryExecutionId"])
        scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
        self.stats.queries += 1
        self.stats.bytes_scanned += scanned
        self.stats.by_query[name] = self.stats.by_query.get(name, 0) + scanned
        self.stats.ran.append((name, dict(params)))
        bucket, _, prefix = location.removeprefix("s3://").partition("/")
        pages = self.s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        keys = sorted(o["Key"] for page in pages for o in page.get("Contents", []))
        try:
            for key in keys:
                body = self.s3.get_object(Bucket=bucket, Key=key)["Body"]
                with gzip.open(body, "rt", encoding="utf-8") as lines:
                    for line in lines:
                        if line.strip():
                            yield json_row(json.loads(line))
        finally:
            for start in range(0, len(keys), 1000):  # DeleteObjects takes up to 1,000 keys
                self.s3.delete_objects(
                    Bucket=bucket, Delete={"Objects": [{"Key": k} for k in keys[start : start + 1000]]}
                )

    def _wait(self, name: str, qid: str) -> dict[str, Any]:
        while True:
            execution: dict[str, Any] = self.athena.get_query_execution(QueryExecutionId=qid)[
                "QueryExecution"
            ]
            state = execution["Status"]["State"]
            if state == "SUCCEEDED":
                return execution
            if state in ("FAILED", "CANCELLED"):
                reason = execution["Status"].get("StateChangeReason", state)
                raise RuntimeError(f"Athena query {name} {state.lower()}: {reason}")
            self.sleep(self.poll_seconds)


def _shared_strings(values: Any) -> Any:
    """An Arrow string column as a numpy object array whose equal strings are one object."""
    import numpy as np

    encoded = values.dictionary_encode().unify_dictionaries()  # one dictionary for every chunk
    if not encoded.num_chunks:
        return np.array([], dtype=object)
    words = encoded.chunk(0).dictionary.to_numpy(zero_copy_only=False)
    words = np.concatenate([words, np.array([None], dtype=object)])  # the last word stands for null
    parts = []
    for chunk in encoded.chunks:
        codes = chunk.indices.fill_null(words.size - 1).to_numpy(zero_copy_only=False)
        parts.append(words[codes.astype(np.int64)])
    return np.concatenate(parts) if parts else np.array([], dtype=object)


def columns_of(rows: Iterable[dict[str, Any]], batch_rows: int = 50_000) -> dict[str, Any]:
    """Rows as numpy columns: timestamps (queries.RESULT_TYPES) as datetime64[ms] UTC, doubles as
    float64 (NaN for null), other numbers as int64, text as object arrays. numpy is imported here
    only: the functions that ask for columns (the nightly) ship the numpy layer."""
    import numpy as np

    names: list[str] = []
    batches: dict[str, list[Any]] = {}
    pending: dict[str, list[Any]] = {}
    strings: dict[str, str] = {}

    def flush() -> None:
        for column in names:
            kind = queries.RESULT_TYPES.get(column)
            values = pending[column]
            if kind == "timestamp":
                nat = np.iinfo(np.int64).min  # datetime64's NaT
                millis = [nat if v is None else int(v.timestamp() * 1000) for v in values]
                batches[column].append(np.array(millis, np.int64).astype("datetime64[ms]"))
            elif kind == "double":
                batches[column].append(np.array([np.nan if v is None else v for v in values], np.float64))
            else:
                batches[column].append(np.array(values, dtype=object))
            pending[column] = []

    for count, row in enumerate(rows, start=1):
        if not names:
            names = list(row)
            batches = {c: [] for c in names}
            pending = {c: [] for c in names}
        for column in names:
            value = row.get(column)
            if isinstance(value, str):
                value = strings.setdefault(value, value)
            pending[column].append(value)
        if count % batch_rows == 0:
            flush()
    if not names:
        return {}
    flush()
    out: dict[str, Any] = {}
    for column in names:
        joined = np.concatenate(batches[column]) if batches[column] else np.array([], dtype=object)
        if joined.dtype == object and queries.RESULT_TYPES.get(column) is None:
            sample = next((v for v in joined if v is not None), None)
            whole = isinstance(sample, int) and not isinstance(sample, bool)
            if whole and not any(v is None for v in joined):
                joined = joined.astype(np.int64)
        out[column] = joined
    return out


def _timestamp(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    text = value.removesuffix(" UTC").removesuffix("Z")
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _double(value: Any) -> Any:
    return float(value) if isinstance(value, int | float | str) and not isinstance(value, bool) else value


def json_row(row: dict[str, Any]) -> dict[str, Any]:
    """A row of Athena's JSON output with the Python types DuckDbEngine returns (queries.RESULT_TYPES):
    timestamps (JSON strings) as aware datetimes, doubles written without a fraction as floats."""
    out: dict[str, Any] = {}
    for column, value in row.items():
        kind = queries.RESULT_TYPES.get(column)
        if value is None or kind is None:
            out[column] = value
        elif kind == "timestamp":
            out[column] = _timestamp(value)
        elif kind == "double":
            out[column] = _double(value)
        else:  # "lines": order lines, their price and quantity are doubles
            out[column] = [
                {
                    **line,
                    **{f: _double(line.get(f)) for f in ("price", "quantity") if line.get(f) is not None},
                }
                for line in value
            ]
    return out
