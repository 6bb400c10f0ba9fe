"""The event archive: every stored event and the message log as partitioned Parquet, queried with SQL.

On AWS the archive is S3 (written by Firehose, see infra/kaeri_cdk/archive.py) with a Glue table per
dataset, queried by Athena; locally the stack writes the same layout to a folder and DuckDB reads it.
`kaeri.archive.schema` is the one definition of the columns, `kaeri.archive.rows` maps a DynamoDB item
to a row, `kaeri.archive/sql/*.sql` hold the queries (one source each, run on both engines).
"""
