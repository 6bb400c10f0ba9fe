"""The numpy-free reader: a customer's list, topped up from the shop's best sellers."""

from __future__ import annotations

import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest

from kaeri.predictions import store
from kaeri_ops.definitions.topology import FUNCTIONS

ROOT = Path(__file__).resolve().parents[2]


def _put(aws, pk: str, products: list[str], reason: str) -> None:
    items = [{"product_id": p, "score": Decimal("0.5"), "reason": reason} for p in products]
    aws.table("customers").put_item(
        Item={"pk": pk, "sk": "RECS", "items": items, "computed_at": "2024-01-01T00:00:00.000Z"}
    )


def test_customer_list_is_filled_from_popular(aws):
    _put(aws, "s1#c1", ["a", "b"], "similar")
    _put(aws, "s1#__popular__", ["b", "p1", "p2", "p3"], "popular")
    recs = store.get_recommendations(aws, "s1", "c1", 4)
    assert [r["product_id"] for r in recs] == ["a", "b", "p1", "p2"]
    assert recs[0] == {"product_id": "a", "score": 0.5, "reason": "similar"}
    assert recs[2]["reason"] == "popular"


def test_unknown_customer_gets_popular_and_empty_shop_gets_nothing(aws):
    _put(aws, "s1#__popular__", ["p1", "p2"], "popular")
    assert [r["product_id"] for r in store.get_recommendations(aws, "s1", "nobody", 5)] == ["p1", "p2"]
    assert store.get_recommendations(aws, "other", "nobody", 5) == []


def test_together_and_category_lists(aws):
    _put(aws, "s1#__together__#tent", ["bag"], "bought_together")
    _put(aws, "s1#__popular__#outdoor", ["tent"], "popular")
    assert store.get_bought_together(aws, "s1", "tent")[0]["product_id"] == "bag"
    assert store.get_popular(aws, "s1", category="outdoor")[0]["product_id"] == "tent"


@pytest.mark.parametrize(
    "function",
    [None, *(f for f in FUNCTIONS if not f.numpy)],
    ids=lambda f: "kaeri.predictions.store" if f is None else f.name,
)
def test_functions_other_than_recommend_do_not_import_numpy(function):
    # Given a fresh interpreter with the Lambda code path of the function (or only the layer)
    paths = [ROOT / "layers/common"]
    if function is None:
        module = "kaeri.predictions.store"
    else:
        paths.append(ROOT / function.code_dir)
        module = function.handler.rsplit(".", 1)[0]
    code = f"import sys; sys.path[:0] = {[str(p) for p in paths]!r}; import {module}; print('numpy' in sys.modules)"
    env = {
        "AWS_DEFAULT_REGION": "ap-northeast-1",
        "AWS_REGION": "ap-northeast-1",
        "KAERI_API_URL": "https://api.kaeri.test",  # set on every deployed function
        # The console's own required settings (its deployed environment names them too).
        "KAERI_CONSOLE_USER_POOL_ID": "ap-northeast-1_test",
        "KAERI_CONSOLE_CLIENT_ID": "console-client",
        "KAERI_LINK_SIGNING_SECRET_NAME": "kaeri/link-signing",
        "PATH": "/usr/bin:/bin",
    }
    # When the handler module is imported; then numpy stays out of the process
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "False"
