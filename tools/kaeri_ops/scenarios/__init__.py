"""Scenario files: loading YAML and the presets that ship with Kaeri."""
