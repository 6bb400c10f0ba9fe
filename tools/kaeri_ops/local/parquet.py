"""The local archive: rows written as Parquet files in the S3 layout, under one folder.

`<root>/<dataset>/shop_id=<shop>/dt=<day>/part-<n>.parquet`. Files are only ever added (like
Firehose's objects); a row delivered twice is removed by the queries, which keep one per key.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from kaeri.archive.schema import DATASETS, arrow_schema


class ParquetArchive:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def dataset_path(self, dataset: str) -> Path:
        return self.root / dataset

    def write(self, dataset: str, rows: Iterable[dict[str, Any]]) -> int:
        """Append rows (each with shop_id and dt) as one file per partition; returns rows written."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        spec = DATASETS[dataset]
        schema = arrow_schema(spec)
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            groups[(row["shop_id"], row["dt"])].append(row)
        written = 0
        for (shop, day), part in groups.items():
            folder = self.dataset_path(dataset) / f"shop_id={shop}" / f"dt={day}"
            folder.mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pylist(part, schema=schema)
            target = folder / f"part-{uuid.uuid4().hex}.parquet"
            tmp = target.with_suffix(".tmp")
            pq.write_table(table, tmp, compression="zstd")
            tmp.rename(target)  # readers never see a half-written file
            written += len(part)
        return written

    def has(self, dataset: str, shop_id: str) -> bool:
        return any((self.dataset_path(dataset) / f"shop_id={shop_id}").glob("dt=*/*.parquet"))
