"""Item-to-item recommender on small hand-made data where the right answer is known."""

from __future__ import annotations

import numpy as np

from kaeri.predictions import recommender
from kaeri.predictions.recommender import Interactions, RecommenderConfig


def _model(rows: list[tuple[str, str, str, float, str | None]], **config: float) -> recommender.ItemItemModel:
    users, items, kinds, ages, baskets = (list(col) for col in zip(*rows, strict=True))
    data = Interactions.build(users, items, kinds, ages, baskets)
    return recommender.fit(data, RecommenderConfig(**config))  # type: ignore[arg-type]


def _top(model: recommender.ItemItemModel, user: str, n: int = 3) -> list[str]:
    top, scores, _ = model.recommend_all(n)
    row = model.users.index(user)
    return [model.items[j] for j, s in zip(top[row], scores[row], strict=True) if np.isfinite(s)]


def _shop() -> list[tuple[str, str, str, float, str | None]]:
    rows: list[tuple[str, str, str, float, str | None]] = []
    # Tents go with sleeping bags; mugs go with coffee. Coffee is re-bought by everyone.
    for u in range(6):
        rows += [
            (f"camper{u}", "tent", "purchase", 10.0, f"o{u}"),
            (f"camper{u}", "bag", "purchase", 10.0, f"o{u}"),
        ]
    for u in range(6):
        rows += [(f"drinker{u}", "mug", "purchase", 20.0, f"m{u}")]
        rows += [(f"drinker{u}", "coffee", "purchase", float(d), f"c{u}-{d}") for d in (5, 40, 80)]
    rows += [("newbie", "tent", "purchase", 1.0, "n1")]
    rows += [("browser", "mug", "view", 1.0, None)]
    return rows


def test_recommends_the_complement_and_not_the_one_off_purchase():
    model = _model(_shop())
    top = _top(model, "newbie")
    assert top[0] == "bag"
    assert "tent" not in top  # bought once, nobody re-buys tents


def test_views_lead_to_the_viewed_item_and_its_neighbours():
    top = _top(_model(_shop()), "browser")
    assert set(top[:2]) == {"mug", "coffee"}


def test_repeat_purchase_items_stay_in_the_list():
    model = _model(_shop())
    assert model.repeat_rate[model.items.index("coffee")] > model.repeat_rate[model.items.index("tent")]
    assert "coffee" in _top(model, "drinker0", 2)


def test_popularity_and_bought_together():
    model = _model(_shop())
    assert model.popular(1)[0][0] in {"coffee", "mug", "tent", "bag"}
    together = model.together[model.items.index("tent")]
    assert model.items[together[0][0]] == "bag"
    cats = recommender.category_popularity(model, {"tent": "outdoor", "bag": "outdoor", "mug": "kitchen"}, 5)
    assert {p for p, _ in cats["outdoor"]} == {"tent", "bag"}


def test_old_interactions_count_less():
    rows = [("u1", "a", "purchase", 0.0, "x"), ("u2", "b", "purchase", 365.0, "y")]
    model = _model(rows, half_life_days=30.0)
    assert model.popular(1)[0][0] == "a"


def test_event_weights_rank_purchases_above_views():
    rows = [(f"u{i}", "bought", "purchase", 1.0, f"o{i}") for i in range(3)]
    rows += [(f"v{i}", "viewed", "view", 1.0, None) for i in range(3)]
    model = _model(rows)
    assert [p for p, _ in model.popular(2)] == ["bought", "viewed"]
