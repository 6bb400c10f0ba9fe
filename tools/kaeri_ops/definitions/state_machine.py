"""The one journey state machine (ASL) for every scenario: Wait -> Check -> Send -> Check ...

CDK deploys it (with tokens for the ARNs) and the local stack interprets it, so both run the same
definition. Only Task, Wait, Choice, Succeed and Fail states with Retry/Catch and paths are used.
"""

from __future__ import annotations

from typing import Any

EVALUATE_STEP = "evaluate-step"  # topology function names
SEND_MESSAGE = "send-message"

_LAMBDA_TRANSIENT = [
    "Lambda.ServiceException",
    "Lambda.AWSLambdaException",
    "Lambda.SdkClientException",
    "Lambda.TooManyRequestsException",
]


def _retry() -> list[dict[str, Any]]:
    return [
        {"ErrorEquals": _LAMBDA_TRANSIENT, "IntervalSeconds": 2, "MaxAttempts": 6, "BackoffRate": 2.0},
        {"ErrorEquals": ["States.TaskFailed"], "IntervalSeconds": 10, "MaxAttempts": 3, "BackoffRate": 2.0},
    ]


def _catch() -> list[dict[str, Any]]:
    return [{"ErrorEquals": ["States.ALL"], "ResultPath": "$.error", "Next": "Failed"}]


def build_definition(function_arns: dict[str, str]) -> dict[str, Any]:
    """ASL for the journey state machine; `function_arns` maps topology names to ARNs (or CDK tokens)."""
    step_arn, send_arn = function_arns[EVALUATE_STEP], function_arns[SEND_MESSAGE]
    return {
        "Comment": "Kaeri journey: wait until the step is due, check it, send, repeat",
        "StartAt": "WaitUntilDue",
        "States": {
            "WaitUntilDue": {"Type": "Wait", "TimestampPath": "$.due_at", "Next": "Check"},
            "Check": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": step_arn, "Payload.$": "$"},
                "OutputPath": "$.Payload",
                "Retry": _retry(),
                "Catch": _catch(),
                "Next": "NextAction",
            },
            "NextAction": {
                "Type": "Choice",
                "Choices": [
                    {"Variable": "$.action", "StringEquals": "send", "Next": "Send"},
                    {"Variable": "$.action", "StringEquals": "wait", "Next": "WaitUntilDue"},
                ],
                "Default": "Done",
            },
            "Send": {
                "Type": "Task",
                "Resource": "arn:aws:states:::lambda:invoke",
                "Parameters": {"FunctionName": send_arn, "Payload.$": "$.request"},
                "ResultSelector": {"result.$": "$.Payload"},
                "ResultPath": "$.last_send",
                "Retry": _retry(),
                "Catch": _catch(),
                "Next": "Check",
            },
            "Done": {"Type": "Succeed"},
            "Failed": {
                "Type": "Fail",
                "Error": "JourneyFailed",
                "Cause": "a journey step failed after retries",
            },
        },
    }
