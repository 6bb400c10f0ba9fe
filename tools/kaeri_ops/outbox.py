"""The outbox reader lives in the runtime (the console's message log uses it); the CLI imports it here."""

from kaeri.delivery.outbox import FIELDS, list_outbox

__all__ = ["FIELDS", "list_outbox"]
