"""Every Lambda handler logs through the PII mask (issue 10, point 7)."""

from __future__ import annotations

import importlib

import pytest

from kaeri.pii import MaskingFormatter
from kaeri_ops.definitions.topology import FUNCTIONS


@pytest.mark.parametrize("function", FUNCTIONS, ids=[f.name for f in FUNCTIONS])
def test_handler_logger_masks_personal_data(function, capsys):
    module = importlib.import_module(function.handler.split(".")[0])
    logger = module.logger
    assert isinstance(logger.registered_formatter, MaskingFormatter)

    logger.info("sent to hanako@example.jp", extra={"phone": "+819012345678"})

    line = capsys.readouterr().out
    assert "hanako@example.jp" not in line and "+819012345678" not in line
