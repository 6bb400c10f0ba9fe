"""Find and invoke the Lambda handlers named in kaeri_ops.definitions.topology, the way the Lambda runtime would."""

from __future__ import annotations

import importlib
import logging
import sys
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import kaeri
from kaeri_ops.definitions.topology import FUNCTIONS, Function
from kaeri_ops.local import iam

log = logging.getLogger("kaeri_ops.local")

ACCOUNT_ID = "000000000000"
FUNCTION_PREFIX = "kaeri-"
REPO_ROOT = Path(kaeri.__file__).resolve().parents[3]

Handler = Callable[[dict[str, Any], Any], Any]


class UnknownFunctionError(LookupError):
    pass


def function_arn(function: Function, region: str) -> str:
    """The ARN the local stack gives a topology function: arn:aws:lambda:{region}:000000000000:function:kaeri-{name}."""
    return f"arn:aws:lambda:{region}:{ACCOUNT_ID}:function:{FUNCTION_PREFIX}{function.name}"


def function_arns(region: str) -> dict[str, str]:
    """Logical function name -> local Lambda ARN, for building the state machine definition."""
    return {f.name: function_arn(f, region) for f in FUNCTIONS}


def function_for(name_or_arn: str) -> Function:
    """A topology function from its logical name, 'kaeri-<name>', or any ARN ending in 'function:kaeri-<name>'.

    A qualifier (':$LATEST', ':live') is ignored, so versioned ARNs resolve too.
    """
    text = name_or_arn
    if text.startswith("arn:"):
        parts = text.split(":")
        if len(parts) < 7 or parts[5] != "function":
            raise UnknownFunctionError(f"not a Lambda function ARN: {name_or_arn}")
        text = parts[6]
    candidates = [text, text.removeprefix(FUNCTION_PREFIX)]
    for function in FUNCTIONS:
        # Deployed names may carry a stack prefix ("kaeri-prod-send"); match on the logical suffix.
        if function.name in candidates or text.endswith(f"-{function.name}"):
            return function
    raise UnknownFunctionError(
        f"no Kaeri function named {name_or_arn!r} (known: {[f.name for f in FUNCTIONS]})"
    )


@dataclass
class LambdaContext:
    """The attributes handlers and Powertools read from the Lambda context object."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int = 512
    function_version: str = "$LATEST"
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = ""
    log_stream_name: str = "local"
    timeout_seconds: float = 30.0
    _started: float = field(default_factory=time.monotonic)

    def __post_init__(self) -> None:
        self.log_group_name = self.log_group_name or f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self._started)) * 1000))


class FunctionRunner:
    """Imports each handler once (like a warm Lambda container) and invokes it with a fake context."""

    def __init__(self, region: str, root: Path = REPO_ROOT) -> None:
        self.region = region
        self.root = root
        self._handlers: dict[str, Handler] = {}
        self._lock = threading.Lock()
        self.overrides: dict[str, Handler] = {}  # tests may stand in for a function by logical name

    def handler(self, function: Function) -> Handler:
        if function.name in self.overrides:
            return self.overrides[function.name]
        with self._lock:
            if function.name not in self._handlers:
                self._handlers[function.name] = self._load(function)
            return self._handlers[function.name]

    def _load(self, function: Function) -> Handler:
        code_dir = self.root / function.code_dir
        module_name, _, attr = function.handler.rpartition(".")
        if not (code_dir / f"{module_name}.py").exists():
            raise UnknownFunctionError(
                f"{function.name}: handler file {code_dir / (module_name + '.py')} does not exist (yet)"
            )
        if str(code_dir) not in sys.path:
            sys.path.insert(0, str(code_dir))
        if module_name in sys.modules:
            # A cold start: module-level clients of an earlier stack in this process point elsewhere.
            module = importlib.reload(sys.modules[module_name])
        else:
            module = importlib.import_module(module_name)
        return getattr(module, attr)

    def invoke(self, function: Function, event: Any) -> Any:
        context = LambdaContext(
            function_name=FUNCTION_PREFIX + function.name,
            invoked_function_arn=function_arn(function, self.region),
        )
        handler = self.handler(function)
        with iam.acting_as(function.name):  # its AWS calls are judged against kaeri_ops.definitions.access
            return handler(event, context)
