"""Delivery: templates, channels, consent, suppression, exactly-once sends and the message log."""
