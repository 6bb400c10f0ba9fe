"""Kaeri: serverless CRM automation for online shops (the common layer)."""

__version__ = "0.1.0"
