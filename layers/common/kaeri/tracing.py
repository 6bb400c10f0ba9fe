"""The one X-Ray tracer of the Lambda handlers (Powertools), decorating each handler:

    @logger.inject_lambda_context
    @tracer.capture_lambda_handler
    def handler(event, context): ...

On Lambda (tracing ACTIVE in the CDK app) it records each invocation with its cold start and a
subsegment per AWS call (boto3 is patched). Responses and errors are not attached to traces
(POWERTOOLS_TRACER_CAPTURE_RESPONSE/ERROR=false in the CDK app): they can hold personal data. Outside
Lambda (tests, the local stack) Powertools disables it by itself.
"""

from __future__ import annotations

from aws_lambda_powertools import Tracer

tracer = Tracer()
