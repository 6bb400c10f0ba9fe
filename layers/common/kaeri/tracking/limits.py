"""The tracking API's limits, enforced before anything is parsed or stored (docs/tracking.md lists them)."""

from datetime import UTC, datetime

MAX_EVENT_BYTES = 32 * 1024  # one event, including the batch `context` it inherits
MAX_REQUEST_BYTES = 500 * 1024  # the request body, after gzip/deflate decoding
MAX_ID_CHARS = 256  # userId, anonymousId, messageId (they become parts of DynamoDB keys)
MAX_ERRORS_REPORTED = 50
MAX_DEPTH = 32  # objects/arrays nested inside one event (the event itself is level 0)
# What DynamoDB (and boto3's serialiser) holds: 38 significant digits, magnitude 1E-128 .. 9.99E+125.
MAX_NUMBER_DIGITS = 38
MIN_EXPONENT = -128
MAX_EXPONENT = 125
# Event times after clock-skew correction (and consent times) must fall in [MIN_TIME, MAX_TIME).
MIN_TIME = datetime(1970, 1, 1, tzinfo=UTC)
MAX_TIME = datetime(2100, 1, 1, tzinfo=UTC)
