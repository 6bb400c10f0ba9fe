"""Evaluation helpers: Online Retail cleaning rules and the ranking metrics."""

from __future__ import annotations

import gzip

import pytest

from kaeri_ops.evaluation import _ranking_metrics, load_retail

CSV = """InvoiceNo,StockCode,Description,Quantity,InvoiceDate,UnitPrice,CustomerID,Country
536365,85123A,HEART,6,2010-12-01 08:26:00,2.55,17850.0,United Kingdom
536365,POST,POSTAGE,1,2010-12-01 08:26:00,18.0,17850.0,United Kingdom
C536379,85123A,HEART,-6,2010-12-01 09:41:00,2.55,17850.0,United Kingdom
536370,22728,ALARM CLOCK,24,2010-12-01 08:45:00,3.75,,France
536371,22729,FREEBIE,1,2010-12-01 09:00:00,0.0,12583.0,France
"""


def test_load_retail_drops_cancellations_non_products_and_free_lines_and_keys_guests(tmp_path):
    path = tmp_path / "retail.csv.gz"
    with gzip.open(path, "wt") as fh:
        fh.write(CSV)
    lines = load_retail(path)
    assert lines.item.tolist() == ["85123A", "22728"]
    assert lines.customer.tolist() == ["17850", "guest:536370"]
    assert lines.guest.tolist() == [False, True]
    assert lines.value[0] == pytest.approx(15.3)


def test_ranking_metrics():
    recall, ndcg = _ranking_metrics([["a", "x", "b"], ["z"]], [{"a", "b"}, {"q"}], k=3)
    assert recall == pytest.approx(0.5)  # (2/2 + 0) / 2
    assert ndcg == pytest.approx((1 + 1 / 2) / (1 + 1 / 1.5849625) / 2)
