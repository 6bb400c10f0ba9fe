"""The console as the CDK app deploys it: its user pool, app client, function and routes."""

from __future__ import annotations

import pytest

from kaeri_cdk.nag import flatten_reference
from kaeri_ops.definitions.access import access_for
from kaeri_ops.definitions.topology import ROUTES

pytestmark = pytest.mark.slow


def _only(synth, type_: str) -> tuple[str, dict]:
    found = synth.resources(type_)
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def _console_function(synth) -> tuple[str, dict]:
    found = {
        k: v
        for k, v in synth.resources("AWS::Lambda::Function").items()
        if v["Properties"].get("FunctionName") == "kaeri-console"
    }
    assert len(found) == 1, sorted(found)
    return next(iter(found.items()))


def test_the_user_pool_admits_no_self_sign_up_and_a_strong_password_only(synth):
    _, pool = _only(synth, "AWS::Cognito::UserPool")
    props = pool["Properties"]

    assert props["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"] is True
    policy = props["Policies"]["PasswordPolicy"]
    assert policy["MinimumLength"] >= 12
    assert all(
        policy[k] for k in ("RequireLowercase", "RequireUppercase", "RequireNumbers", "RequireSymbols")
    )
    assert props["MfaConfiguration"] == "OPTIONAL" and props["EnabledMfas"] == ["SOFTWARE_TOKEN_MFA"]
    assert props["UserPoolAddOns"]["AdvancedSecurityMode"] == "ENFORCED"
    assert props["UsernameConfiguration"]["CaseSensitive"] is False


def test_the_app_client_has_no_secret_and_signs_in_with_a_password(synth):
    pool_id, _ = _only(synth, "AWS::Cognito::UserPool")
    _, client = _only(synth, "AWS::Cognito::UserPoolClient")
    props = client["Properties"]

    assert props["UserPoolId"] == {"Ref": pool_id}
    assert props["GenerateSecret"] is False
    assert "ALLOW_USER_PASSWORD_AUTH" in props["ExplicitAuthFlows"]
    assert "ALLOW_REFRESH_TOKEN_AUTH" in props["ExplicitAuthFlows"]  # the console renews sessions
    assert props["EnableTokenRevocation"] is True
    assert not props.get("AllowedOAuthFlowsUserPoolClient")
    assert props["PreventUserExistenceErrors"] == "ENABLED"
    # The console reads the language from the ID token, and writes no attribute.
    assert "locale" in props["ReadAttributes"] and props["WriteAttributes"] == []


def test_the_console_function_is_told_its_pool_client_and_keys(synth):
    pool_id, _ = _only(synth, "AWS::Cognito::UserPool")
    client_id, _ = _only(synth, "AWS::Cognito::UserPoolClient")
    _, function = _console_function(synth)
    env = function["Properties"]["Environment"]["Variables"]

    assert env["KAERI_CONSOLE_USER_POOL_ID"] == {"Ref": pool_id}
    assert env["KAERI_CONSOLE_CLIENT_ID"] == {"Ref": client_id}
    assert flatten_reference(env["KAERI_CONSOLE_JWKS_URL"]) == (
        f"https://cognito-idp.<AWS::Region>.<AWS::URLSuffix>/<{pool_id}>/.well-known/jwks.json"
    )
    assert function["Properties"]["Handler"] == "console_app.handler"


def test_every_console_route_of_the_topology_reaches_the_console_function(synth):
    function_id, _ = _console_function(synth)
    resources = synth.resources("AWS::ApiGateway::Resource")
    console_routes = [r for r in ROUTES if r.function.name == "console"]
    assert {(r.method, r.path) for r in console_routes} == {("ANY", "/console"), ("ANY", "/console/{proxy+}")}

    def path_of(resource_id: str) -> str:
        props = resources[resource_id]["Properties"]
        parent = props["ParentId"]
        prefix = "" if "Fn::GetAtt" in parent else path_of(parent["Ref"])
        return f"{prefix}/{props['PathPart']}"

    methods = {
        (m["Properties"]["HttpMethod"], path_of(m["Properties"]["ResourceId"]["Ref"]))
        for m in synth.resources("AWS::ApiGateway::Method").values()
        if "Ref" in m["Properties"]["ResourceId"]
        and function_id in str(m["Properties"].get("Integration", {}).get("Uri"))
    }
    assert methods == {("ANY", "/console"), ("ANY", "/console/{proxy+}")}


def test_the_console_role_has_no_cognito_grant_because_sign_in_is_unsigned(synth):
    # kaeri.console.auth calls only InitiateAuth, which AWS authorizes by the password, not by IAM.
    assert not any(a.startswith("cognito-idp:") for g in access_for("console").grants() for a in g.actions)
    statements = [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]
    actions = [
        a for s in statements for a in ([s["Action"]] if isinstance(s["Action"], str) else s["Action"])
    ]
    assert not [a for a in actions if a.startswith("cognito-idp:")]


def test_the_stack_outputs_name_the_pool_and_client_for_the_cli(synth):
    from kaeri_ops.cli.context import STACK_OUTPUTS

    outputs = synth.template["Outputs"]
    for name in ("ConsoleUserPoolId", "ConsoleClientId", "ConsoleUrl"):
        assert name in outputs
    assert STACK_OUTPUTS["ConsoleUserPoolId"] == "console_user_pool_id"


def _role_of(synth, logical_prefix: str) -> str:
    roles = [k for k in synth.resources("AWS::IAM::Role") if k.startswith(logical_prefix)]
    assert len(roles) == 1, roles
    return roles[0]


def test_the_console_function_syncs_scenario_schedules_and_sends_through_the_configuration_set(synth):
    _, function = _console_function(synth)
    env = function["Properties"]["Environment"]["Variables"]
    config_sets = synth.resources("AWS::SES::ConfigurationSet")
    assert len(config_sets) == 1
    (config_set_id,) = config_sets
    scheduler_role = _role_of(synth, "JourneysScenarioSchedulerRole")
    groups = [g["Properties"]["Name"] for g in synth.resources("AWS::Scheduler::ScheduleGroup").values()]

    assert env["KAERI_SES_CONFIGURATION_SET"] == {"Ref": config_set_id}
    assert env["KAERI_SCHEDULE_GROUP"] == "kaeri" and "kaeri" in groups
    assert env["KAERI_SCHEDULE_ROLE_ARN"] == {"Fn::GetAtt": [scheduler_role, "Arn"]}
    assert flatten_reference(env["KAERI_SCHEDULE_TARGET_ARN"]).endswith(":function:kaeri-evaluate-schedule")


def test_the_console_may_pass_only_the_scenario_scheduler_role_and_only_to_scheduler(synth):
    _, function = _console_function(synth)
    role = function["Properties"]["Role"]["Fn::GetAtt"][0]
    scheduler_role = _role_of(synth, "JourneysScenarioSchedulerRole")
    statements = [
        s
        for p in synth.resources("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
    ]

    def actions(statement: dict) -> list[str]:
        return [statement["Action"]] if isinstance(statement["Action"], str) else statement["Action"]

    pass_role = [s for s in statements if "iam:PassRole" in actions(s)]
    assert len(pass_role) == 1
    assert pass_role[0]["Resource"] == {"Fn::GetAtt": [scheduler_role, "Arn"]}
    assert pass_role[0]["Condition"] == {"StringEquals": {"iam:PassedToService": "scheduler.amazonaws.com"}}
    schedules = [s for s in statements if any(a.startswith("scheduler:") for a in actions(s))]
    assert len(schedules) == 1
    assert flatten_reference(schedules[0]["Resource"]).endswith(":schedule/kaeri/*")


def test_the_deployed_pool_and_client_are_the_one_definition_the_local_stack_uses(synth):
    from kaeri_ops.console_users import CLIENT, POOL

    _, pool = _only(synth, "AWS::Cognito::UserPool")
    _, client = _only(synth, "AWS::Cognito::UserPoolClient")
    policy = pool["Properties"]["Policies"]["PasswordPolicy"]
    assert {k: policy[k] for k in POOL.password_policy} == POOL.password_policy
    assert pool["Properties"]["MfaConfiguration"] == POOL.mfa
    props = client["Properties"]
    assert sorted(props["ExplicitAuthFlows"]) == sorted(CLIENT.auth_flows)
    assert sorted(props["ReadAttributes"]) == sorted(CLIENT.read_attributes)
    assert props["IdTokenValidity"] == CLIENT.id_token_minutes
    assert props["AccessTokenValidity"] == CLIENT.access_token_minutes
    assert props["RefreshTokenValidity"] == CLIENT.refresh_token_hours * 60
    assert props["TokenValidityUnits"] == {
        "AccessToken": "minutes",
        "IdToken": "minutes",
        "RefreshToken": "minutes",
    }
