"""Journeys: one customer's way through one scenario, run on Step Functions."""
