"""Ingest: the Segment-compatible tracking API, Shopify webhooks and the catalog feed.

Nothing here knows HTTP routing; functions/track/track_api.py maps requests onto these services.
"""
