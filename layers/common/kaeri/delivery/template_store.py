"""Versioned templates per shop in the config table, with the packaged defaults as fallback.

Keys: pk `TEMPLATE#{shop}#{id}`, sk `V#{n:06d}` for every version and `LATEST` for the current one
(a full copy, so a send reads one item).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any

from kaeri import clock
from kaeri.aws import ClientError, all_items, condition_failed
from kaeri.delivery.templates_engine import (
    Template,
    TemplateCompileError,
    compile_check,
    default_templates,
)


class TemplateNotFound(LookupError):
    pass


@dataclass
class PushResult:
    template_id: str
    version: int
    changed: bool


class TemplateStore:
    def __init__(self, config_table: Any) -> None:
        self._table = config_table
        self._cache: dict[tuple[str, str], tuple[float, Template]] = {}

    @classmethod
    def of(cls, clients: Any) -> TemplateStore:
        return cls(clients.table("config"))

    @staticmethod
    def _pk(shop_id: str, template_id: str) -> str:
        return f"TEMPLATE#{shop_id}#{template_id}"

    @staticmethod
    def _to_item(template: Template) -> dict[str, Any]:
        return {
            "template_id": template.id,
            "version": template.version,
            "channels": list(template.channels),
            "body": template.model_dump_json(exclude={"version"}),
            "content_hash": template.content_hash(),
        }

    @staticmethod
    def _from_item(item: dict[str, Any]) -> Template:
        data = json.loads(item["body"])
        data["version"] = int(item["version"])
        return Template.model_validate(data)

    def push(self, shop_id: str, template: Template, author: str = "cli") -> PushResult:
        """Store a new version unless the content is unchanged.

        Refused (TemplateCompileError) before anything is written: syntax errors, unknown filters,
        and a template that fails or renders blank for the sample customers (kaeri.delivery.validation).
        """
        check_template(template, template.id)
        pk = self._pk(shop_id, template.id)
        latest = self._table.get_item(Key={"pk": pk, "sk": "LATEST"}, ConsistentRead=True).get("Item")
        if latest and latest.get("content_hash") == template.content_hash():
            return PushResult(template.id, int(latest["version"]), changed=False)
        version = int(latest["version"]) + 1 if latest else 1
        stored = template.model_copy(update={"version": version})
        item = {
            **self._to_item(stored),
            "shop_id": shop_id,
            "pushed_at": clock.iso(clock.now()),
            "author": author,
        }
        self._table.put_item(
            Item={"pk": pk, "sk": f"V#{version:06d}", **item}, ConditionExpression="attribute_not_exists(pk)"
        )
        try:
            if latest:
                self._table.put_item(
                    Item={"pk": pk, "sk": "LATEST", **item},
                    ConditionExpression="version = :prev",
                    ExpressionAttributeValues={":prev": version - 1},
                )
            else:
                self._table.put_item(
                    Item={"pk": pk, "sk": "LATEST", **item}, ConditionExpression="attribute_not_exists(pk)"
                )
        except ClientError as exc:
            if condition_failed(exc):
                raise RuntimeError(f"template {template.id} was pushed concurrently; push again") from exc
            raise
        self._cache.pop((shop_id, template.id), None)
        return PushResult(template.id, version, changed=True)

    def get(
        self, shop_id: str, template_id: str, version: int | None = None, max_age: float = 60.0
    ) -> Template:
        """A pushed version (LATEST by default), else the packaged default."""
        pk = self._pk(shop_id, template_id)
        if version is None:
            # Freshness is real elapsed time in this process: a simulated clock (the local stack's)
            # must not expire or stretch the cache.
            cached = self._cache.get((shop_id, template_id))
            if cached and time.monotonic() - cached[0] < max_age:
                return cached[1]
            item = self._table.get_item(Key={"pk": pk, "sk": "LATEST"}).get("Item")
        elif version == 0:
            item = None
        else:
            item = self._table.get_item(Key={"pk": pk, "sk": f"V#{version:06d}"}).get("Item")
        if item:
            template = self._from_item(item)
        else:
            template = default_templates().get(template_id)  # type: ignore[assignment]
            if template is None:
                raise TemplateNotFound(f"no template {template_id!r} for shop {shop_id}")
        if version is None:
            self._cache[(shop_id, template_id)] = (time.monotonic(), template)
        return template

    def ids(self, shop_id: str) -> set[str]:
        """Every template id a send step of this shop can name: pushed ones and the packaged defaults."""
        return {row["id"] for row in self.list(shop_id)}

    def list(self, shop_id: str) -> list[dict[str, Any]]:
        """Pushed templates (latest versions) and the defaults not overridden."""
        rows: dict[str, dict[str, Any]] = {}
        latest = all_items(
            self._table.scan,
            FilterExpression="begins_with(pk, :p) AND sk = :s",
            ExpressionAttributeValues={":p": f"TEMPLATE#{shop_id}#", ":s": "LATEST"},
        )
        for item in latest:
            rows[item["template_id"]] = {
                "id": item["template_id"],
                "version": int(item["version"]),
                "channels": list(item.get("channels", [])),
                "pushed_at": item.get("pushed_at"),
                "source": "pushed",
            }
        for tid, template in default_templates().items():
            rows.setdefault(
                tid,
                {
                    "id": tid,
                    "version": 0,
                    "channels": list(template.channels),
                    "pushed_at": None,
                    "source": "default",
                },
            )
        return sorted(rows.values(), key=lambda r: r["id"])


def check_template(template: Template, source: str = "<template>") -> None:
    """Compile every body, then render it for the sample customers; raises TemplateCompileError."""
    from kaeri.delivery.validation import render_problems

    compile_check(template, source)
    problems = render_problems(template)
    if problems:
        located = re.match(r"line (\d+): ", problems[0])
        raise TemplateCompileError(
            source, int(located.group(1)) if located else None, "; ".join(problems[:5])
        )


def missing_templates(
    template_ids: Any, store: TemplateStore | None = None, shop_id: str | None = None
) -> list[str]:
    """Problems for send steps naming a template that does not exist (for the shop, or packaged)."""
    from kaeri.delivery.validation import unknown_template_ids

    known = store.ids(shop_id) if store is not None and shop_id else set(default_templates())
    return unknown_template_ids(template_ids, known)
