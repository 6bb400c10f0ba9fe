"""Kaeri's operator tooling: the `kaeri` command, the local stack, the demo, offline evaluation, previews and fakes.

Nothing here ships in a Lambda. The runtime package `kaeri` (layers/common/kaeri) never imports it.
"""
