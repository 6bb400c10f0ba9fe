"""The hostile corpus against the track handler: never a 5xx; rejected stores nothing; accepted is stored."""

from __future__ import annotations

import pytest

from tests.hostile.corpus import ACCEPT, CORPUS, Case


def _send(raw_api, case: Case):
    if case.path.startswith("shopify:"):
        return raw_api.shopify(case.path.removeprefix("shopify:"), case.raw)
    return raw_api(case.method, case.path, case.raw, headers=case.headers)


@pytest.mark.parametrize("case", CORPUS, ids=[c.name for c in CORPUS])
def test_hostile_input_is_answered_without_5xx_and_stores_all_or_nothing(raw_api, case: Case):
    answer = _send(raw_api, case)

    assert answer.status < 500, answer.body
    if case.expect == ACCEPT:
        assert answer.status == 200, answer.body
        assert set(case.stored) <= raw_api.message_ids()
        if case.method == "PUT":
            assert raw_api.stored_counts()[1] > 0
    else:
        assert answer.status == case.status, answer.body
        assert raw_api.stored_counts() == (0, 0)
        # What Segment's and RudderStack's SDKs parse, beside the per-item errors.
        assert {"code", "message", "errors"} <= set(answer.body)
        assert answer.body["errors"], answer.body


def test_rejections_name_item_index_and_field(raw_api):
    from tests.hostile.corpus import HOSTILE_VALUES, _batch_second

    answer = raw_api("POST", "/v1/batch", _batch_second(HOSTILE_VALUES["1e200"], "m"))

    assert answer.status == 400
    assert answer.body["errors"][0]["index"] == 1
    assert answer.body["errors"][0]["field"] == "properties.p.q"
    assert answer.body["code"] == "invalid_request"
    assert "[1] properties.p.q" in answer.body["message"]


def test_rejected_values_are_not_echoed_in_full(raw_api):
    secret = "hanako-" + "x" * 200 + "@"
    answer = raw_api(
        "POST", "/v1/identify", f'{{"userId":"u1","traits":{{"email":"{secret[:-1]}"}}}}'.encode()
    )

    assert answer.status == 400
    assert secret[:-1] not in str(answer.body)
    assert "hanako-" in answer.body["errors"][0]["message"]  # a short preview says which value
