"""Measurement: KPIs, attribution and lift over plain records, a DynamoDB reader, an HTML report.

Pure Python on purpose (no numpy): the nightly report runs in the evaluate function.
"""

from kaeri.analytics.records import Dataset, Engagement, Goal, Journey, Message, Order

__all__ = ["Dataset", "Engagement", "Goal", "Journey", "Message", "Order"]
