"""The nightly report: read a shop's KPIs, render the HTML, put it in the report bucket."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from kaeri.analytics.archive_reader import kpi_reader
from kaeri.analytics.report import render
from kaeri.analytics.summary import compute


@dataclass(frozen=True)
class Published:
    shop_id: str
    keys: tuple[str, ...]
    bytes: int


def shop_ids(clients: Any) -> list[str]:
    """Every shop in the config table (SHOP#{id} / META items; the table is small)."""
    from kaeri.shops import shop_ids as stack_shop_ids

    return stack_shop_ids(clients)


def publish_report(clients: Any, bucket: str, shop_id: str, now: datetime) -> Published:
    kpis = compute(kpi_reader(clients).read(shop_id, until=now))
    body = render(kpis, shop=shop_id).encode()
    keys = (f"reports/{shop_id}/{now:%Y-%m-%d}.html", f"reports/{shop_id}/latest.html")
    for key in keys:
        clients.s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType="text/html; charset=utf-8")
    return Published(shop_id, keys, len(body))
