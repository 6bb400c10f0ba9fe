"""Engines that run the archive's queries: DuckDB over the local Parquet folder, Athena on AWS.

Both return rows as dicts and count what they scanned (DuckDB: rows read from Parquet; Athena: bytes
scanned, which is what Athena bills).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol

from kaeri.archive import queries


class Engine(Protocol):
    def query(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]: ...


def query_arrow(engine: Any, name: str, params: dict[str, Any]) -> Any:
    """A query's result as a pyarrow Table, from any engine."""
    if hasattr(engine, "query_arrow"):
        return engine.query_arrow(name, params)
    import pyarrow as pa

    return pa.Table.from_pylist(engine.query(name, params))


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

    def close(self) -> None:
        self.con.close()


class AthenaEngine:
    """Athena over the Glue tables of the archive (the same SQL, transpiled to Trino)."""

    def __init__(
        self, athena: Any, database: str, workgroup: str, poll_seconds: float = 0.5, sleep: Any = time.sleep
    ) -> None:
        self.athena = athena
        self.database = database
        self.workgroup = workgroup
        self.poll_seconds = poll_seconds
        self.sleep = sleep
        self.stats = Stats()

    def sql(self, name: str, params: dict[str, Any]) -> str:
        tables = {base: f"{self.database}.{dataset}" for base, dataset in queries.BASE_TABLES.items()}
        return queries.render(name, params, queries.ATHENA_DIALECT, tables)

    def query(self, name: str, params: dict[str, Any]) -> list[dict[str, Any]]:
        started = self.athena.start_query_execution(
            QueryString=self.sql(name, params),
            QueryExecutionContext={"Database": self.database},
            WorkGroup=self.workgroup,
        )
        qid = started["QueryExecutionId"]
        while True:
            execution = self.athena.get_query_execution(QueryExecutionId=qid)["QueryExecution"]
            state = execution["Status"]["State"]
            if state == "SUCCEEDED":
                break
            if state in ("FAILED", "CANCELLED"):
                reason = execution["Status"].get("StateChangeReason", state)
                raise RuntimeError(f"Athena query {name} {state.lower()}: {reason}")
            self.sleep(self.poll_seconds)
        scanned = int(execution.get("Statistics", {}).get("DataScannedInBytes", 0))
        self.stats.queries += 1
        self.stats.bytes_scanned += scanned
        self.stats.by_query[name] = self.stats.by_query.get(name, 0) + scanned
        return list(self._rows(qid))

    def _rows(self, qid: str) -> Any:
        header: list[str] | None = None
        kwargs: dict[str, Any] = {"QueryExecutionId": qid}
        while True:
            page = self.athena.get_query_results(**kwargs)
            types = [c["Type"] for c in page["ResultSet"]["ResultSetMetadata"]["ColumnInfo"]]
            for row in page["ResultSet"]["Rows"]:
                values = [d.get("VarCharValue") for d in row["Data"]]
                if header is None:
                    header = [str(v) for v in values]
                    continue
                yield dict(
                    zip(
                        header, (_athena_value(v, t) for v, t in zip(values, types, strict=True)), strict=True
                    )
                )
            if "NextToken" not in page:
                return
            kwargs["NextToken"] = page["NextToken"]


def _athena_value(value: str | None, kind: str) -> Any:
    if value is None:
        return None
    if kind in ("bigint", "integer", "smallint", "tinyint"):
        return int(value)
    if kind in ("double", "float", "real", "decimal"):
        return float(value)
    if kind.startswith("timestamp"):
        return datetime.fromisoformat(value.replace(" UTC", "")).replace(tzinfo=UTC)
    return value
