"""Which provider errors are worth retrying. Retrying itself happens in two places only: botocore's
retry mode on every AWS client (kaeri.aws) and the journey state machine's Retry on the send task."""

from __future__ import annotations

from kaeri.aws import ClientError, error_code

THROTTLING_CODES = frozenset(
    {
        "Throttling",
        "ThrottlingException",
        "TooManyRequestsException",
        "ProvisionedThroughputExceededException",
        "RequestLimitExceeded",
        "LimitExceededException",
        "InternalFailure",
        "InternalServerError",
        "ServiceUnavailable",
        "ServiceUnavailableException",
        "InternalServerErrorException",
        "TransactionConflictException",
    }
)


def is_transient(exc: BaseException) -> bool:
    """A ClientError the service asks us to retry (throttling, 5xx)."""
    if not isinstance(exc, ClientError):
        return False
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0) or 0
    return error_code(exc) in THROTTLING_CODES or status >= 500 or status == 429
