"""`kaeri doctor`: checks a deployed (or the local) stack after `cdk deploy`, naming each problem and its fix.

Each check answers ok, a problem with its fix, or "skipped" with the reason (e.g. a check that only
means something on AWS). The checks only read, except the event-flow probe, which creates a
throw-away shop, sends one identify call through the public API and removes what it wrote.
"""

from __future__ import annotations

import base64
import json
import secrets
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any, Literal

from botocore.exceptions import BotoCoreError, ClientError

from kaeri.aws import AwsClients
from kaeri.tables import TABLES, TABLES_BY_NAME

Status = Literal["ok", "problem", "skipped"]


@dataclass(frozen=True)
class Check:
    name: str
    status: Status
    detail: str
    fix: str = ""


def _ok(name: str, detail: str) -> Check:
    return Check(name, "ok", detail)


def _problem(name: str, detail: str, fix: str) -> Check:
    return Check(name, "problem", detail, fix)


def _skipped(name: str, detail: str) -> Check:
    return Check(name, "skipped", detail)


def check_settings(clients: AwsClients) -> list[Check]:
    s = clients.settings
    where = s.aws_endpoint_url or "AWS"
    return [
        _ok("settings", f"region {s.region}, table prefix {s.table_prefix!r}, api {s.api_url}, on {where}")
    ]


def check_tables(clients: AwsClients) -> list[Check]:
    """Every table of kaeri/tables.py, with its key schema, indexes and stream."""
    found: list[Check] = []
    for table in TABLES:
        name = clients.settings.table(table.logical)
        try:
            described = clients.dynamodb.describe_table(TableName=name)["Table"]
        except ClientError as exc:
            found.append(
                _problem(
                    f"table {table.logical}",
                    f"{name}: {exc.response['Error']['Code']}",
                    "deploy the stack (cdk deploy) or check the prefix: the CLI reads it from the stack's "
                    "TablePrefix output",
                )
            )
            continue
        expected = table.create_table_kwargs(clients.settings.table_prefix)
        issues = []
        if described["KeySchema"] != expected["KeySchema"]:
            issues.append(f"key schema {described['KeySchema']} != {expected['KeySchema']}")
        have = {i["IndexName"] for i in described.get("GlobalSecondaryIndexes", [])}
        want = {i["IndexName"] for i in expected.get("GlobalSecondaryIndexes", [])}
        if want - have:
            issues.append(f"missing index(es) {sorted(want - have)}")
        if table.stream and not described.get("StreamSpecification", {}).get("StreamEnabled"):
            issues.append("stream disabled (profiles and journeys are fed from it)")
        if issues:
            found.append(
                _problem(f"table {table.logical}", f"{name}: " + "; ".join(issues), "redeploy the stack")
            )
        else:
            found.append(_ok(f"table {table.logical}", f"{name} ({len(have)} indexes)"))
    return found


def _post(url: str, key: str, body: dict[str, Any]) -> tuple[int, str]:
    request = urllib.request.Request(
        url,
        data=json.dumps(body).encode(),
        method="POST",
        headers={
            "Content-Type": "application/json",
            "Authorization": "Basic " + base64.b64encode(f"{key}:".encode()).decode(),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=15) as response:  # noqa: S310 (the stack's own URL)
            return response.status, response.read().decode(errors="replace")
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode(errors="replace")
    except (urllib.error.URLError, TimeoutError, OSError) as exc:
        return 0, str(exc)


def check_event_flow(clients: AwsClients, timeout: float = 30.0) -> list[Check]:
    """A probe event goes track API → events table → stream → profile; everything is cleaned up."""
    from kaeri import shops
    from kaeri.profiles.repository import ProfileRepository, profile_pk

    name = "event flow"
    shop_id = f"kaeri-doctor-{secrets.token_hex(4)}"
    user_id = "doctor-probe"
    shop = shops.create_shop(clients, shop_id, name="kaeri doctor probe")
    try:
        url = clients.settings.public_api_url.rstrip("/") + "/v1/identify"
        status, text = _post(url, str(shop.write_key), {"userId": user_id, "traits": {"first_name": "Probe"}})
        if status != 200:
            return [
                _problem(
                    name,
                    f"POST {url} answered {status or 'no response'}: {text[:200]}",
                    "check the ApiUrl output, the API's stage and the track-api function's logs",
                )
            ]
        deadline = time.monotonic() + timeout
        repository = ProfileRepository(clients)
        while time.monotonic() < deadline:
            if repository.get(shop_id, user_id) is not None:
                return [_ok(name, f"an identify call reached the profile of {user_id!r} in shop {shop_id}")]
            time.sleep(0.5)
        return [
            _problem(
                name,
                f"the event was accepted but no profile appeared within {timeout:.0f} s",
                "check the evaluate-stream function's event source mapping, its logs, its DLQ and "
                "`kaeri events failed`",
            )
        ]
    finally:
        _clean_probe(clients, shop_id, user_id, profile_pk(shop_id, user_id))
        shops.delete_shop(clients, shop_id)


def _clean_probe(clients: AwsClients, shop_id: str, user_id: str, pk: str) -> None:
    from boto3.dynamodb.conditions import Key

    customers = clients.table("customers")
    for item in customers.query(KeyConditionExpression=Key("pk").eq(pk)).get("Items", []):
        customers.delete_item(Key={"pk": item["pk"], "sk": item["sk"]})
    events = clients.table("events")
    probe = events.query(
        IndexName="by_identity", KeyConditionExpression=Key("identity").eq(f"{shop_id}#{user_id}")
    ).get("Items", [])
    for item in probe:
        events.delete_item(Key={k: item[k] for k in TABLES_BY_NAME["events"].key_names})


def check_ses(clients: AwsClients, from_emails: Iterable[str]) -> list[Check]:
    ses = clients.client("ses")
    found: list[Check] = []
    emails = sorted(set(from_emails))
    if not emails:
        found.append(
            _problem("ses identity", "no shop has a sender address", "kaeri shops create ... --from-email")
        )
    for email in emails:
        domain = email.partition("@")[2]
        try:
            verified = ses.get_identity_verification_attributes(Identities=[email, domain])[
                "VerificationAttributes"
            ]
            dkim = ses.get_identity_dkim_attributes(Identities=[domain])["DkimAttributes"]
        except (ClientError, BotoCoreError) as exc:
            found.append(_problem(f"ses identity {email}", str(exc), "check SES permissions and region"))
            continue
        ok_identity = any(verified.get(i, {}).get("VerificationStatus") == "Success" for i in (email, domain))
        if not ok_identity:
            found.append(
                _problem(
                    f"ses identity {email}",
                    f"neither {email} nor {domain} is a verified SES identity in {clients.settings.region}",
                    f"aws sesv2 create-email-identity --email-identity {domain}, then add its DKIM CNAMEs",
                )
            )
            continue
        dkim_status = dkim.get(domain, {}).get("DkimVerificationStatus")
        if clients.settings.aws_endpoint_url is None and dkim_status != "Success":
            found.append(
                _problem(
                    f"ses dkim {domain}",
                    f"DKIM status {dkim_status or 'not set up'}",
                    "publish the three DKIM CNAME records SES shows for the domain",
                )
            )
        else:
            found.append(_ok(f"ses identity {email}", f"verified; DKIM {dkim_status or 'n/a locally'}"))
    if clients.settings.aws_endpoint_url is None:
        try:
            account = clients.sesv2.get_account()
            if not account.get("ProductionAccessEnabled"):
                found.append(
                    _problem(
                        "ses production access",
                        "the account is in the SES sandbox: mail only reaches verified addresses",
                        "request production access in the SES console (Account dashboard)",
                    )
                )
            else:
                found.append(_ok("ses production access", "out of the sandbox"))
        except (ClientError, BotoCoreError, NotImplementedError) as exc:
            found.append(_problem("ses production access", str(exc), "check sesv2:GetAccount permission"))
    else:
        found.append(_skipped("ses production access", "only on AWS (the local stack has no sandbox)"))
    name = clients.settings.ses_configuration_set
    try:
        destinations = clients.sesv2.get_configuration_set_event_destinations(ConfigurationSetName=name)
        enabled = [d for d in destinations.get("EventDestinations", []) if d.get("Enabled")]
        if enabled:
            found.append(_ok("ses configuration set", f"{name} with {len(enabled)} event destination(s)"))
        else:
            found.append(
                _problem(
                    "ses configuration set",
                    f"{name} has no enabled event destination: bounces and complaints are never seen",
                    "redeploy the stack (it creates the SNS event destination)",
                )
            )
    except (ClientError, BotoCoreError, NotImplementedError) as exc:
        code = exc.response["Error"]["Code"] if isinstance(exc, ClientError) else str(exc)
        if clients.settings.local and _configuration_set_exists(clients, name):
            found.append(
                _skipped(
                    "ses configuration set",
                    f"{name} exists; the local emulation cannot list its event destinations",
                )
            )
        else:
            found.append(_problem("ses configuration set", f"{name}: {code}", "redeploy the stack"))
    return found


def _configuration_set_exists(clients: AwsClients, name: str) -> bool:
    try:
        clients.sesv2.get_configuration_set(ConfigurationSetName=name)
        return True
    except (ClientError, BotoCoreError):
        return False


def check_line_tokens(
    clients: AwsClients, shop_ids: Iterable[str], uses_line: Callable[[str], bool]
) -> list[Check]:
    from kaeri.delivery.channels import line_token_secret_name

    found: list[Check] = []
    for shop_id in shop_ids:
        if not uses_line(shop_id):
            continue
        secret = line_token_secret_name(clients.settings.table_prefix, shop_id)
        try:
            clients.secretsmanager.describe_secret(SecretId=secret)
            found.append(_ok(f"line token {shop_id}", f"secret {secret} exists"))
        except ClientError:
            found.append(
                _problem(
                    f"line token {shop_id}",
                    f"shop {shop_id} has scenarios sending on LINE but no secret {secret}",
                    f"aws secretsmanager create-secret --name {secret} --secret-string <channel token>",
                )
            )
    return found


def check_schedules(clients: AwsClients, scheduled: dict[str, list[str]]) -> list[Check]:
    """Each enabled scheduled scenario of each shop has its EventBridge Scheduler schedule."""
    if not any(scheduled.values()):
        return [_ok("schedules", "no scheduled scenario is enabled")]
    try:
        pages = clients.client("scheduler").get_paginator("list_schedules")
        names = {
            s["Name"]
            for p in pages.paginate(GroupName=clients.settings.schedule_group)
            for s in p["Schedules"]
        }
    except (ClientError, BotoCoreError) as exc:
        return [_problem("schedules", str(exc), "check the ScheduleGroup output and Scheduler permissions")]
    from kaeri.journeys.schedule import schedule_name

    missing = [
        f"{shop}/{scenario}"
        for shop, scenarios in scheduled.items()
        for scenario in scenarios
        if schedule_name(shop, scenario) not in names
    ]
    if missing:
        return [
            _problem(
                "schedules",
                f"enabled scheduled scenarios without a schedule: {', '.join(missing)}",
                "run `kaeri scenarios enable NAME --shop SHOP --stack STACK` again",
            )
        ]
    return [_ok("schedules", f"{len(names)} schedule(s) in group {clients.settings.schedule_group}")]


def check_alarms(clients: AwsClients) -> list[Check]:
    if clients.settings.local:
        return [_skipped("alarms", "the local stack has no CloudWatch alarms")]
    try:
        alarms = clients.client("cloudwatch").describe_alarms(AlarmNamePrefix=clients.settings.table_prefix)[
            "MetricAlarms"
        ]
    except (ClientError, BotoCoreError) as exc:
        return [_problem("alarms", str(exc), "check cloudwatch:DescribeAlarms permission")]
    if not alarms:
        return [_problem("alarms", "no alarm found for this stack", "redeploy the stack")]
    sns = clients.client("sns")
    topics = {arn for alarm in alarms for arn in alarm.get("AlarmActions", []) if ":sns:" in arn}
    silent = []
    for topic in sorted(topics):
        subscriptions = sns.list_subscriptions_by_topic(TopicArn=topic).get("Subscriptions", [])
        if not [s for s in subscriptions if s.get("SubscriptionArn", "").startswith("arn:")]:
            silent.append(topic)
    if not topics or silent:
        return [
            _problem(
                "alarms",
                f"{len(alarms)} alarms, but nobody is told: topic(s) without a confirmed subscriber "
                f"{', '.join(silent) or '(no alarm action)'}",
                "aws sns subscribe --topic-arn <AlarmTopic> --protocol email --notification-endpoint you@...",
            )
        ]
    return [_ok("alarms", f"{len(alarms)} alarms notify {len(topics)} topic(s) with subscribers")]


def run(clients: AwsClients, *, probe: bool = True) -> list[Check]:
    """Every check, in the order a platform engineer fixes things."""
    from kaeri import shops
    from kaeri.scenarios.store import ScenarioStore

    checks = check_settings(clients) + check_tables(clients)
    if any(c.status == "problem" for c in checks):
        return checks  # nothing else can work without the tables
    all_shops = [s for s in shops.list_shops(clients) if not s.shop_id.startswith("kaeri-doctor-")]
    store = ScenarioStore(clients)
    enabled = {shop.shop_id: _enabled(store, shop.shop_id) for shop in all_shops}
    if probe:
        checks += check_event_flow(clients)
    checks += check_ses(clients, [s.from_email for s in all_shops if s.from_email])
    checks += check_line_tokens(
        clients, enabled, lambda shop: any("line" in channels for _, _, channels in enabled[shop])
    )
    checks += check_schedules(
        clients, {shop: [name for name, scheduled, _ in rows if scheduled] for shop, rows in enabled.items()}
    )
    checks += check_alarms(clients)
    return checks


def _enabled(store: Any, shop_id: str) -> list[tuple[str, bool, set[str]]]:
    """(scenario id, scheduled?, channels) of each enabled scenario of a shop."""
    rows = []
    for stored in store.enabled(shop_id, cached=False):
        scenario = stored.scenario
        channels = set(_channels(scenario.model_dump(mode="json")["steps"]))
        rows.append((stored.id, scenario.trigger.schedule is not None, channels))
    return rows


def _channels(node: Any) -> Iterable[str]:
    """Every channel a scenario's steps (branches included) may send on."""
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "channels" and isinstance(value, list):
                yield from (str(v) for v in value)
            else:
                yield from _channels(value)
    elif isinstance(node, list):
        for value in node:
            yield from _channels(value)
