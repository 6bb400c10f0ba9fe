"""Segment's documented limits, enforced before anything is parsed or stored."""

MAX_EVENT_BYTES = 32 * 1024
MAX_REQUEST_BYTES = 500 * 1024
MAX_ID_CHARS = 256  # userId, anonymousId, messageId (they become parts of DynamoDB keys)
MAX_ERRORS_REPORTED = 50
