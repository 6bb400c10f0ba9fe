"""Measurement: KPIs, attribution and lift over plain records, a DynamoDB reader, an HTML report.

Pure Python on purpose (no numpy): the nightly report runs in the evaluate function.
"""

from kaeri.analytics.records import Dataset, Engagement, Journey, Message, Order
from kaeri.scenarios.model import Goal

__all__ = ["Dataset", "Engagement", "Goal", "Journey", "Message", "Order"]
