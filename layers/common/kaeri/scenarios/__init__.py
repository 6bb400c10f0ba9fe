"""Scenarios: the marketer's config (model, YAML, versions, presets, shop-wide rules) and its pure logic."""
