"""The synthesized template against the one definitions it is built from (tables, topology)."""

from __future__ import annotations

import json

import pytest

from kaeri.tables import TABLES
from kaeri_cdk.constants import SES_EVENTS
from kaeri_ops.definitions.topology import FUNCTIONS, ROUTES

pytestmark = pytest.mark.slow


def _tables(synth) -> dict[str, dict]:
    return {
        r["Properties"]["TableName"]: r["Properties"]
        for r in synth.resources("AWS::DynamoDB::Table").values()
    }


def _key_schema(schema: list[dict]) -> tuple:
    return tuple((k["AttributeName"], k["KeyType"]) for k in schema)


def test_given_the_app_when_synthesized_then_cdk_nag_reports_no_unacknowledged_error(synth):
    errors = [
        v
        for plugin in (synth.report or {}).get("pluginReports", [])
        for v in plugin.get("violations", [])
        if v.get("severity") == "error"
    ]
    assert synth.ok, synth.error
    assert errors == []


def test_every_table_matches_its_definition_in_tables_py(synth):
    deployed = _tables(synth)
    assert set(deployed) == {t.physical_name("kaeri") for t in TABLES}
    for spec in TABLES:
        props = deployed[spec.physical_name("kaeri")]
        expected = spec.create_table_kwargs("kaeri")
        assert _key_schema(props["KeySchema"]) == _key_schema(expected["KeySchema"])
        assert sorted(props["AttributeDefinitions"], key=lambda a: a["AttributeName"]) == sorted(
            expected["AttributeDefinitions"], key=lambda a: a["AttributeName"]
        )
        got_indexes = {
            g["IndexName"]: _key_schema(g["KeySchema"]) for g in props.get("GlobalSecondaryIndexes", [])
        }
        want_indexes = {
            g["IndexName"]: _key_schema(g["KeySchema"]) for g in expected.get("GlobalSecondaryIndexes", [])
        }
        assert got_indexes == want_indexes
        assert props["BillingMode"] == "PAY_PER_REQUEST"
        assert props["PointInTimeRecoverySpecification"]["PointInTimeRecoveryEnabled"] is True
        if spec.ttl_attribute:
            assert props["TimeToLiveSpecification"] == {"AttributeName": spec.ttl_attribute, "Enabled": True}
        if spec.stream:
            assert props["StreamSpecification"] == {"StreamViewType": "NEW_IMAGE"}
        else:
            assert "StreamSpecification" not in props


def test_pii_tables_use_the_rotating_customer_managed_key(synth):
    keys = synth.resources("AWS::KMS::Key")
    deployed = _tables(synth)
    for spec in TABLES:
        sse = deployed[spec.physical_name("kaeri")].get("SSESpecification", {})
        if spec.pii:
            assert sse["SSEEnabled"] is True and sse["SSEType"] == "KMS"
            key_id = sse["KMSMasterKeyId"]["Fn::GetAtt"][0]
            assert keys[key_id]["Properties"]["EnableKeyRotation"] is True
        else:
            assert "KMSMasterKeyId" not in sse


def test_stream_consumer_reports_partial_failures_bisects_and_has_an_on_failure_queue(synth):
    mappings = [
        m["Properties"]
        for m in synth.resources("AWS::Lambda::EventSourceMapping").values()
        if "StartingPosition" in m["Properties"]
    ]
    assert len(mappings) == 1
    mapping = mappings[0]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    assert mapping["BisectBatchOnFunctionError"] is True
    assert mapping["MaximumRetryAttempts"] >= 1
    assert mapping["MaximumRecordAgeInSeconds"] > 0
    destination = mapping["DestinationConfig"]["OnFailure"]["Destination"]
    queue_id = destination["Fn::GetAtt"][0]
    queue = synth.template["Resources"][queue_id]
    assert queue["Type"] == "AWS::SQS::Queue"
    assert queue["Properties"]["SqsManagedSseEnabled"] is True
    events_table = next(
        k
        for k, v in synth.resources("AWS::DynamoDB::Table").items()
        if v["Properties"]["TableName"] == "kaeri-events"
    )
    assert mapping["EventSourceArn"] == {"Fn::GetAtt": [events_table, "StreamArn"]}


def _function_ids(synth) -> dict[str, str]:
    return {
        v["Properties"]["FunctionName"]: k
        for k, v in synth.resources("AWS::Lambda::Function").items()
        if "FunctionName" in v["Properties"]
    }


def _resource_paths(synth) -> dict[str, str]:
    """Resource logical id -> full path, e.g. "/v1/webhooks/shopify/{topic+}"."""
    resources = synth.resources("AWS::ApiGateway::Resource")
    paths: dict[str, str] = {}

    def path_of(rid: str) -> str:
        if rid not in paths:
            props = resources[rid]["Properties"]
            parent = props["ParentId"]
            prefix = path_of(parent["Ref"]) if "Ref" in parent else ""
            paths[rid] = f"{prefix}/{props['PathPart']}"
        return paths[rid]

    for rid in resources:
        path_of(rid)
    return paths


def test_api_routes_equal_topology_routes_and_each_proxies_to_its_function(synth):
    paths = _resource_paths(synth)
    functions = {v: k for k, v in _function_ids(synth).items()}
    deployed = set()
    for method in synth.resources("AWS::ApiGateway::Method").values():
        props = method["Properties"]
        if props["HttpMethod"] == "OPTIONS":
            continue
        integration = props["Integration"]
        assert integration["Type"] == "AWS_PROXY"
        uri_parts = integration["Uri"]["Fn::Join"][1]
        function_id = next(p["Fn::GetAtt"][0] for p in uri_parts if isinstance(p, dict) and "Fn::GetAtt" in p)
        deployed.add((props["HttpMethod"], paths[props["ResourceId"]["Ref"]], functions[function_id]))
    assert deployed == {(r.method, r.path, f"kaeri-{r.function.name}") for r in ROUTES}


def test_api_takes_gzip_bodies_and_answers_browser_preflight_with_cors(synth):
    (api,) = synth.resources("AWS::ApiGateway::RestApi").values()
    assert "application/json" in api["Properties"]["BinaryMediaTypes"]
    paths = _resource_paths(synth)
    preflight = {
        paths[m["Properties"]["ResourceId"]["Ref"]]
        for m in synth.resources("AWS::ApiGateway::Method").values()
        if m["Properties"]["HttpMethod"] == "OPTIONS"
    }
    assert {r.path for r in ROUTES if r.function.name == "track-api"} <= preflight
    gateway = synth.resources("AWS::ApiGateway::GatewayResponse").values()
    assert {g["Properties"]["ResponseType"] for g in gateway} >= {"DEFAULT_4XX", "DEFAULT_5XX"}
    for response in gateway:
        assert (
            response["Properties"]["ResponseParameters"]["gatewayresponse.header.Access-Control-Allow-Origin"]
            == "'*'"
        )


def test_api_stage_is_throttled_and_access_logged(synth):
    (stage,) = synth.resources("AWS::ApiGateway::Stage").values()
    props = stage["Properties"]
    (settings,) = [s for s in props["MethodSettings"] if s["HttpMethod"] == "*" and s["ResourcePath"] == "/*"]
    assert settings["ThrottlingRateLimit"] > 0 and settings["ThrottlingBurstLimit"] > 0
    assert "DestinationArn" in props["AccessLogSetting"]
    assert props["TracingEnabled"] is True


def test_each_function_has_its_own_role_and_log_group_with_retention(synth):
    functions = synth.resources("AWS::Lambda::Function")
    kaeri = {
        k: v for k, v in functions.items() if v["Properties"].get("FunctionName", "").startswith("kaeri-")
    }
    roles = [v["Properties"]["Role"]["Fn::GetAtt"][0] for v in kaeri.values()]
    assert len(roles) == len(set(roles))
    log_groups = {
        v["Properties"]["LogGroupName"]: v["Properties"]
        for v in synth.resources("AWS::Logs::LogGroup").values()
        if isinstance(v["Properties"].get("LogGroupName"), str)
    }
    for fn in kaeri.values():
        props = fn["Properties"]
        assert props["Runtime"] == "python3.12"
        assert props["Architectures"] == ["arm64"]
        group = log_groups[f"/aws/lambda/{props['FunctionName']}"]
        assert group["RetentionInDays"] > 0
        env = props["Environment"]["Variables"]
        assert env["KAERI_TABLE_PREFIX"] == "kaeri"
        assert "KAERI_API_URL" in env and "POWERTOOLS_SERVICE_NAME" in env


def test_numpy_layer_only_on_functions_that_declare_numpy(synth):
    layers = synth.resources("AWS::Lambda::LayerVersion")
    numpy_layer = next(k for k, v in layers.items() if "numpy" in v["Properties"].get("Description", ""))
    by_name = {
        v["Properties"]["FunctionName"]: v["Properties"]
        for v in synth.resources("AWS::Lambda::Function").values()
        if "FunctionName" in v["Properties"]
    }
    for spec in FUNCTIONS:
        props = by_name.get(f"kaeri-{spec.name}")
        if props is None:
            continue
        has_numpy = {"Ref": numpy_layer} in props.get("Layers", [])
        assert has_numpy == spec.numpy, spec.name
        assert has_numpy == (spec.name == "recommend-nightly")


def _function_logical_id(synth, name: str) -> str:
    return _function_ids(synth)[f"kaeri-{name}"]


def test_journey_state_machine_is_standard_traced_logged_and_calls_evaluate_step_and_send_message(synth):
    (machine,) = synth.resources("AWS::StepFunctions::StateMachine").values()
    props = machine["Properties"]
    assert props["StateMachineType"] == "STANDARD"
    assert props["TracingConfiguration"] == {"Enabled": True}
    assert props["LoggingConfiguration"]["Level"] == "ALL"
    definition = json.dumps(props["DefinitionString"])
    for name in ("evaluate-step", "send-message"):
        assert _function_logical_id(synth, name) in definition
    role = synth.template["Resources"][props["RoleArn"]["Fn::GetAtt"][0]]
    assert "states.amazonaws.com" in json.dumps(role["Properties"]["AssumeRolePolicyDocument"])


def test_fanout_queue_feeds_evaluate_fanout_with_partial_failures_and_a_dlq(synth):
    fanout = _function_logical_id(synth, "evaluate-fanout")
    (mapping,) = [
        m["Properties"]
        for m in synth.resources("AWS::Lambda::EventSourceMapping").values()
        if m["Properties"]["FunctionName"] == {"Ref": fanout}
    ]
    assert mapping["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
    queue = synth.template["Resources"][mapping["EventSourceArn"]["Fn::GetAtt"][0]]["Properties"]
    assert "deadLetterTargetArn" in queue["RedrivePolicy"]
    assert queue["SqsManagedSseEnabled"] is True


def test_ses_configuration_set_publishes_every_feedback_event_to_send_feedback(synth):
    (config_set,) = synth.resources("AWS::SES::ConfigurationSet").values()
    assert config_set["Properties"]["Name"] == "kaeri"
    (destination,) = synth.resources("AWS::SES::ConfigurationSetEventDestination").values()
    spec = destination["Properties"]["EventDestination"]
    assert {e.upper() for e in spec["MatchingEventTypes"]} == {e.replace("_", "") for e in SES_EVENTS}
    topic_id = spec["SnsDestination"]["TopicARN"]["Ref"]
    subscriptions = [
        s["Properties"]
        for s in synth.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["TopicArn"] == {"Ref": topic_id}
    ]
    feedback = _function_logical_id(synth, "send-feedback")
    assert [s["Endpoint"] for s in subscriptions] == [{"Fn::GetAtt": [feedback, "Arn"]}]


def test_nightly_schedules_target_recommend_and_report(synth):
    targets = {
        s["Properties"]["Target"]["Arn"]["Fn::GetAtt"][0]
        for s in synth.resources("AWS::Scheduler::Schedule").values()
    }
    assert targets == {
        _function_logical_id(synth, "recommend-nightly"),
        _function_logical_id(synth, "report-nightly"),
    }
    (group,) = synth.resources("AWS::Scheduler::ScheduleGroup").values()
    assert group["Properties"]["Name"] == "kaeri"


def test_functions_get_the_settings_their_code_reads(synth):
    from kaeri.settings import Settings

    fields = {f"KAERI_{name.upper()}" for name in Settings.model_fields}
    by_name = {
        v["Properties"]["FunctionName"]: v["Properties"]["Environment"]["Variables"]
        for v in synth.resources("AWS::Lambda::Function").values()
        if v["Properties"].get("FunctionName", "").startswith("kaeri-")
    }
    for env in by_name.values():
        unknown = {k for k in env if k.startswith("KAERI_")} - fields
        assert not unknown, f"set but never read by kaeri.settings: {unknown}"
    assert "KAERI_JOURNEY_STATE_MACHINE_ARN" in by_name["kaeri-evaluate-stream"]
    assert "KAERI_FANOUT_QUEUE_URL" in by_name["kaeri-evaluate-schedule"]
    assert "KAERI_LINK_SIGNING_SECRET_NAME" in by_name["kaeri-send-message"]
    assert "KAERI_SES_CONFIGURATION_SET" in by_name["kaeri-send-message"]
    assert "KAERI_REPORT_BUCKET" in by_name["kaeri-report-nightly"]


# A function granted a resource is told where it is: the setting that names it (kaeri.settings).
_SETTING_OF_RESOURCE = {
    "secret:link-signing": "link_signing_secret_name",
    "bucket:reports": "report_bucket",
    "queue:fanout": "fanout_queue_url",
    "state-machine:journeys": "journey_state_machine_arn",
    "athena:archive": "archive_database",
}


def test_every_function_gets_every_setting_it_cannot_run_without(synth):
    from kaeri.settings import REQUIRED_ON_AWS, env_name
    from kaeri_ops.definitions.access import access_for

    by_name = {
        v["Properties"]["FunctionName"]: v["Properties"]["Environment"]["Variables"]
        for v in synth.resources("AWS::Lambda::Function").values()
        if v["Properties"].get("FunctionName", "").startswith("kaeri-")
    }
    for spec in FUNCTIONS:
        env = by_name[f"kaeri-{spec.name}"]
        needed = {*REQUIRED_ON_AWS, "table_prefix"} | {
            _SETTING_OF_RESOURCE[g.resource]
            for g in access_for(spec.name).grants()
            if g.resource in _SETTING_OF_RESOURCE
        }
        missing = {env_name(s) for s in needed} - set(env)
        assert not missing, f"{spec.name} lacks {sorted(missing)}"
        assert "KAERI_LOCAL_MODE" not in env


def test_reports_bucket_is_private_encrypted_and_access_logged(synth):
    buckets = synth.resources("AWS::S3::Bucket")
    logged = [b["Properties"] for b in buckets.values() if "LoggingConfiguration" in b["Properties"]]
    assert len(logged) == 1
    for props in (b["Properties"] for b in buckets.values()):
        assert props["PublicAccessBlockConfiguration"]["BlockPublicPolicy"] is True
        assert "BucketEncryption" in props


def test_recommend_function_with_both_layers_fits_lambdas_unzipped_limit():
    from kaeri_cdk import constants as c
    from kaeri_cdk.layer_build import build_common_layer, build_numpy_layer, directory_size

    code = c.REPO_ROOT / "functions" / "recommend"
    total = directory_size(code) + directory_size(build_common_layer()) + directory_size(build_numpy_layer())
    assert total < c.LAMBDA_UNZIPPED_LIMIT_BYTES, f"{total / 2**20:.0f} MB"


def test_functions_are_traced_without_responses_or_errors_in_the_traces(synth):
    for fn in synth.resources("AWS::Lambda::Function").values():
        props = fn["Properties"]
        if not str(props.get("FunctionName", "")).startswith("kaeri-"):
            continue
        assert props["TracingConfig"] == {"Mode": "Active"}
        env = props["Environment"]["Variables"]
        assert env["POWERTOOLS_TRACER_CAPTURE_RESPONSE"] == "false"
        assert env["POWERTOOLS_TRACER_CAPTURE_ERROR"] == "false"


def test_tables_keys_and_buckets_survive_deletes_but_not_a_failed_first_create(synth):
    for kind in ("AWS::DynamoDB::Table", "AWS::KMS::Key", "AWS::S3::Bucket"):
        for logical, resource in synth.resources(kind).items():
            if logical.startswith(("Data", "Reports")):
                assert resource["DeletionPolicy"] == "RetainExceptOnCreate", logical
    (secret,) = synth.resources("AWS::SecretsManager::Secret").values()
    assert "Name" not in secret["Properties"]  # a generated name: a leftover cannot block the retry


def test_every_schedule_target_has_a_dead_letter_queue(synth):
    for schedule in synth.resources("AWS::Scheduler::Schedule").values():
        arn = schedule["Properties"]["Target"]["DeadLetterConfig"]["Arn"]
        assert synth.template["Resources"][arn["Fn::GetAtt"][0]]["Type"] == "AWS::SQS::Queue"


def test_send_feedback_failures_land_in_a_dead_letter_queue(synth):
    feedback = _function_logical_id(synth, "send-feedback")
    (config,) = [
        c["Properties"]
        for c in synth.resources("AWS::Lambda::EventInvokeConfig").values()
        if c["Properties"]["FunctionName"] == {"Ref": feedback}
    ]
    assert "OnFailure" in config["DestinationConfig"]
    (subscription,) = [
        s["Properties"]
        for s in synth.resources("AWS::SNS::Subscription").values()
        if s["Properties"]["Endpoint"] == {"Fn::GetAtt": [feedback, "Arn"]}
    ]
    assert "deadLetterTargetArn" in subscription["RedrivePolicy"]


def test_api_execution_logs_have_retention(synth):
    groups = [
        g["Properties"]
        for g in synth.resources("AWS::Logs::LogGroup").values()
        if "API-Gateway-Execution-Logs_" in json.dumps(g["Properties"].get("LogGroupName", ""))
    ]
    assert len(groups) == 1 and groups[0]["RetentionInDays"] > 0
