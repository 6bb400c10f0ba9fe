"""Scenario versions and shop-wide rules in the config table.

Items (config table):
- ``SCENARIO#{shop}#{id}`` / ``V#{n:06d}``: every pushed version, never overwritten.
- ``SCENARIO#{shop}#{id}`` / ``LATEST``: the current version number and the enabled flag.
- ``SCENARIOS#{shop}`` / ``{id}``: the shop's directory (latest config, enabled, trigger), so the
  stream consumer and the CLI list a shop's scenarios with one query.
- ``SHOP#{shop}`` / ``RULES``: shop-wide rules (frequency caps, quiet hours, daily limit).
"""

from __future__ import annotations

import builtins
import threading
import time
from dataclasses import dataclass
from typing import Any, cast

from kaeri.aws import AwsClients, ClientError, Key, all_items, condition_failed
from kaeri.clock import iso, now
from kaeri.scenarios.model import Scenario, ShopRules

CACHE_SECONDS = 30.0  # enabled list and shop rules: changes reach a warm Lambda within this time
VERSIONS_CACHED = 256  # pushed versions are immutable, so they are kept until evicted


@dataclass(frozen=True)
class StoredScenario:
    scenario: Scenario
    version: int
    enabled: bool
    pushed_at: str | None = None

    @property
    def id(self) -> str:
        return self.scenario.id


def scenario_pk(shop_id: str, scenario_id: str) -> str:
    return f"SCENARIO#{shop_id}#{scenario_id}"


def version_sk(version: int) -> str:
    return f"V#{version:06d}"


def directory_pk(shop_id: str) -> str:
    return f"SCENARIOS#{shop_id}"


class ScenarioNotFound(LookupError):
    pass


class ScenarioStore:
    def __init__(self, clients: AwsClients) -> None:
        self._table = clients.table("config")
        self._cache_scope = clients.settings.table("config")

    # ------------------------------------------------------------ scenarios

    def reserve_daily_send(self, shop_id: str, day: str, limit: int, expires_at: int) -> bool:
        """Count one marketing send against the shop's limit for a local day; False when it is reached."""
        try:
            self._table.update_item(
                Key={"pk": f"SHOP#{shop_id}", "sk": f"SENT#{day}"},
                UpdateExpression="ADD sent :one SET expires_at = :exp",
                ConditionExpression="attribute_not_exists(sent) OR sent < :limit",
                ExpressionAttributeValues={":one": 1, ":limit": limit, ":exp": expires_at},
            )
            return True
        except ClientError as exc:
            if condition_failed(exc):
                return False
            raise

    def push(self, shop_id: str, scenario: Scenario) -> StoredScenario:
        """Store a new version; the enabled flag is kept; earlier versions stay readable."""
        pk = scenario_pk(shop_id, scenario.id)
        latest = self._table.get_item(Key={"pk": pk, "sk": "LATEST"}).get("Item")
        version = int(latest["version"]) + 1 if latest else 1
        enabled = bool(latest and latest.get("enabled"))
        config = scenario.model_dump_json(by_alias=True)
        pushed_at = iso(now())
        try:
            self._table.put_item(
                Item={"pk": pk, "sk": version_sk(version), "config": config, "pushed_at": pushed_at},
                ConditionExpression="attribute_not_exists(pk)",
            )
        except ClientError as exc:
            if condition_failed(exc):
                raise RuntimeError(
                    f"{scenario.id}: version {version} was pushed concurrently; push again"
                ) from None
            raise
        stored = StoredScenario(scenario, version, enabled, pushed_at)
        self._write_pointers(shop_id, stored)
        return stored

    def _write_pointers(self, shop_id: str, stored: StoredScenario) -> None:
        config = stored.scenario.model_dump_json(by_alias=True)
        common = {
            "version": stored.version,
            "enabled": stored.enabled,
            "config": config,
            "pushed_at": stored.pushed_at,
            "trigger_kind": stored.scenario.trigger.kind,
        }
        self._table.put_item(Item={"pk": scenario_pk(shop_id, stored.id), "sk": "LATEST", **common})
        self._table.put_item(
            Item={"pk": directory_pk(shop_id), "sk": stored.id, "scenario_id": stored.id, **common}
        )
        _CACHE.invalidate(self._cache_scope, shop_id)

    def get(self, shop_id: str, scenario_id: str, version: int | None = None) -> StoredScenario:
        pk = scenario_pk(shop_id, scenario_id)
        latest = self._table.get_item(Key={"pk": pk, "sk": "LATEST"}).get("Item")
        if not latest:
            raise ScenarioNotFound(f"scenario '{scenario_id}' not found in shop '{shop_id}'")
        if version is None or version == int(latest["version"]):
            return _from_item(latest, bool(latest.get("enabled")))
        item = self._table.get_item(Key={"pk": pk, "sk": version_sk(version)}).get("Item")
        if not item:
            raise ScenarioNotFound(f"scenario '{scenario_id}' has no version {version}")
        return _from_item({**item, "version": version}, bool(latest.get("enabled")))

    def version(self, shop_id: str, scenario_id: str, version: int) -> Scenario:
        """One pushed version's config. Versions are never overwritten, so a warm Lambda keeps them."""
        key = (self._cache_scope, shop_id, scenario_id, str(version))
        hit = _VERSIONS.get(key)
        if hit is not None:
            return hit
        item = self._table.get_item(
            Key={"pk": scenario_pk(shop_id, scenario_id), "sk": version_sk(version)}
        ).get("Item")
        if not item:
            raise ScenarioNotFound(f"scenario '{scenario_id}' has no version {version}")
        scenario = Scenario.model_validate_json(item["config"])
        _VERSIONS.put(key, scenario)
        return scenario

    def versions(self, shop_id: str, scenario_id: str) -> list[int]:
        items = all_items(
            self._table.query,
            KeyConditionExpression=Key("pk").eq(scenario_pk(shop_id, scenario_id))
            & Key("sk").begins_with("V#"),
            ProjectionExpression="sk",
        )
        return [int(i["sk"][2:]) for i in items]

    def list(self, shop_id: str) -> list[StoredScenario]:
        items = all_items(self._table.query, KeyConditionExpression=Key("pk").eq(directory_pk(shop_id)))
        return [_from_item(i, bool(i.get("enabled"))) for i in items]

    def enabled(self, shop_id: str, *, cached: bool = True) -> builtins.list[StoredScenario]:
        """The shop's enabled scenarios, cached ~30 s per warm Lambda (the stream's hot path)."""
        if cached:
            hit = _CACHE.get(self._cache_scope, shop_id)
            if hit is not None:
                return cast("builtins.list[StoredScenario]", hit)
        found = [s for s in self.list(shop_id) if s.enabled]
        _CACHE.put(self._cache_scope, shop_id, found)
        return found

    def set_enabled(self, shop_id: str, scenario_id: str, enabled: bool) -> StoredScenario:
        current = self.get(shop_id, scenario_id)
        stored = StoredScenario(current.scenario, current.version, enabled, current.pushed_at)
        self._write_pointers(shop_id, stored)
        return stored

    # ------------------------------------------------------------ rules

    def rules(self, shop_id: str, *, cached: bool = True) -> ShopRules:
        """Shop-wide rules, cached ~30 s per warm Lambda (every journey step reads them)."""
        if cached:
            hit = _RULES.get(self._cache_scope, shop_id)
            if hit is not None:
                return cast(ShopRules, hit)
        item = self._table.get_item(Key={"pk": f"SHOP#{shop_id}", "sk": "RULES"}).get("Item")
        rules = ShopRules.model_validate_json(item["config"]) if item else ShopRules()
        _RULES.put(self._cache_scope, shop_id, rules)
        return rules

    def put_rules(self, shop_id: str, rules: ShopRules) -> None:
        self._table.put_item(
            Item={
                "pk": f"SHOP#{shop_id}",
                "sk": "RULES",
                "config": rules.model_dump_json(),
                "updated_at": iso(now()),
            }
        )
        _RULES.invalidate(self._cache_scope, shop_id)


def _from_item(item: dict[str, Any], enabled: bool) -> StoredScenario:
    return StoredScenario(
        scenario=Scenario.model_validate_json(item["config"]),
        version=int(item["version"]),
        enabled=enabled,
        pushed_at=item.get("pushed_at"),
    )


class _Cache:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, str], tuple[float, Any]] = {}

    def get(self, scope: str, shop_id: str) -> Any:
        with self._lock:
            entry = self._entries.get((scope, shop_id))
        if entry and entry[0] > time.monotonic():
            return entry[1]
        return None

    def put(self, scope: str, shop_id: str, value: Any) -> None:
        with self._lock:
            self._entries[(scope, shop_id)] = (time.monotonic() + CACHE_SECONDS, value)

    def invalidate(self, scope: str, shop_id: str) -> None:
        with self._lock:
            self._entries.pop((scope, shop_id), None)

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


class _Versions:
    """Bounded map of immutable scenario versions (least recently stored evicted first)."""

    def __init__(self, size: int) -> None:
        self._size = size
        self._lock = threading.Lock()
        self._entries: dict[tuple[str, ...], Scenario] = {}

    def get(self, key: tuple[str, ...]) -> Scenario | None:
        with self._lock:
            return self._entries.get(key)

    def put(self, key: tuple[str, ...], value: Scenario) -> None:
        with self._lock:
            self._entries[key] = value
            while len(self._entries) > self._size:
                self._entries.pop(next(iter(self._entries)))

    def clear(self) -> None:
        with self._lock:
            self._entries.clear()


_CACHE = _Cache()  # enabled scenarios per shop
_RULES = _Cache()  # shop rules per shop
_VERSIONS = _Versions(VERSIONS_CACHED)


def clear_cache() -> None:
    _CACHE.clear()
    _RULES.clear()
    _VERSIONS.clear()
