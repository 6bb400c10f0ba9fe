"""Which engine runs the archive's queries for the current settings."""

from __future__ import annotations

from typing import Any

from kaeri.archive.engine import AthenaEngine, DuckDbEngine, Engine


def archive_engine(clients: Any) -> Engine | None:
    """DuckDB over the local archive folder, Athena over the Glue database, or None (no archive)."""
    settings = clients.settings
    if settings.archive_path:
        return DuckDbEngine(settings.archive_path)
    if settings.archive_database:
        return AthenaEngine(
            clients.client("athena"), settings.archive_database, settings.athena_workgroup, s3=clients.s3
        )
    return None
