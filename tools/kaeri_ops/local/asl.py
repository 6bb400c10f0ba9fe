"""A Step Functions (Amazon States Language) interpreter for the local stack.

It runs the same definition CDK deploys. An execution runs until it finishes or reaches a Wait whose
time lies in the future; then it is parked with `wake_at` and resumed by `resume()` once the clock
has passed it. Retries happen at once (their interval is not waited for), which keeps a manual clock
deterministic. Supported: Task (lambda:invoke integration and plain Lambda ARNs), Wait, Choice, Pass,
Succeed, Fail, Parallel and Map (without Waits inside), Retry and Catch, InputPath, Parameters,
ResultSelector, ResultPath, OutputPath, the context object ($$) and the common intrinsic functions.
"""

from __future__ import annotations

import copy
import json
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from kaeri.clock import iso, parse_iso

LAMBDA_INVOKE = "arn:aws:states:::lambda:invoke"
MAX_TRANSITIONS = 10_000

# (function ARN or name, payload) -> the function's return value; raises on function error.
Invoke = Callable[[str, Any], Any]
_MISSING = object()


class AslError(Exception):
    """A States error: `error` is the name Retry/Catch match on (States.TaskFailed, a Lambda errorType...)."""

    def __init__(self, error: str, cause: str = "") -> None:
        super().__init__(f"{error}: {cause}" if cause else error)
        self.error = error
        self.cause = cause


class DefinitionError(ValueError):
    """The definition uses something this interpreter does not support or is malformed."""


# JSONPath ------------------------------------------------------------------------------------------

_TOKEN = re.compile(r"\.([A-Za-z0-9_\-$@:]+)|\[(\d+)\]|\['([^']*)'\]|\[\"([^\"]*)\"\]|\.\[(\d+)\]")


def _path_tokens(path: str) -> tuple[bool, list[str | int]]:
    context = path.startswith("$$")
    rest = path[2:] if context else path[1:]
    if not path.startswith("$"):
        raise DefinitionError(f"not a JSONPath: {path!r}")
    tokens: list[str | int] = []
    pos = 0
    while pos < len(rest):
        found = _TOKEN.match(rest, pos)
        if not found:
            raise DefinitionError(f"unsupported JSONPath {path!r} (use $.a.b, $.a[0], $['a'])")
        name, index, quoted, dquoted, index2 = found.groups()
        if index is not None or index2 is not None:
            tokens.append(int(index if index is not None else index2))
        else:
            tokens.append(name if name is not None else (quoted if quoted is not None else dquoted))
        pos = found.end()
    return context, tokens


def _child(value: Any, token: str | int) -> Any:
    """The list element or object member `token` names, or _MISSING."""
    if isinstance(token, int):
        if isinstance(value, list) and -len(value) <= token < len(value):
            return value[token]
    elif isinstance(value, dict) and token in value:
        return value[token]
    return _MISSING


def get_path(data: Any, path: str, context: Any = None, *, strict: bool = True) -> Any:
    """The value at `path` ($ for data, $$ for the context object); States.Runtime if absent (strict)."""
    is_context, tokens = _path_tokens(path)
    value = context if is_context else data
    for token in tokens:
        value = _child(value, token)
        if value is _MISSING:
            if strict:
                raise AslError("States.Runtime", f"the JSONPath {path!r} could not be found in the input")
            return _MISSING
    return value


def set_path(data: Any, path: str, value: Any) -> Any:
    """`data` with `value` placed at `path` (ResultPath); intermediate objects are created."""
    _, tokens = _path_tokens(path)
    if not tokens:
        return value
    root = copy.deepcopy(data) if isinstance(data, dict) else {}
    node = root
    for token in tokens[:-1]:
        if not isinstance(token, str):
            raise DefinitionError(f"ResultPath {path!r} cannot index into arrays")
        child = node.get(token)
        if not isinstance(child, dict):
            child = node[token] = {}
        node = child
    last = tokens[-1]
    if not isinstance(last, str):
        raise DefinitionError(f"ResultPath {path!r} cannot index into arrays")
    node[last] = value
    return root


# Payload templates and intrinsic functions ---------------------------------------------------------


def render(template: Any, data: Any, context: Any) -> Any:
    """Parameters / ResultSelector / ItemSelector: keys ending in '.$' take a path or intrinsic."""
    if isinstance(template, dict):
        out = {}
        for key, value in template.items():
            if key.endswith(".$"):
                if not isinstance(value, str):
                    raise DefinitionError(f"{key} must be a string path or intrinsic function")
                out[key[:-2]] = _dynamic(value, data, context)
            else:
                out[key] = render(value, data, context)
        return out
    if isinstance(template, list):
        return [render(v, data, context) for v in template]
    return template


def _dynamic(expression: str, data: Any, context: Any) -> Any:
    expression = expression.strip()
    if expression.startswith("$"):
        return get_path(data, expression, context)
    if expression.startswith("States."):
        return _intrinsic(expression, data, context)
    raise DefinitionError(f"not a path or intrinsic function: {expression!r}")


def _split_args(text: str) -> list[str]:
    args, depth, quote, current = [], 0, False, ""
    i = 0
    while i < len(text):
        ch = text[i]
        if quote:
            current += ch
            if ch == "\\" and i + 1 < len(text):
                current += text[i + 1]
                i += 1
            elif ch == "'":
                quote = False
        elif ch == "'":
            quote, current = True, current + ch
        elif ch == "(":
            depth, current = depth + 1, current + ch
        elif ch == ")":
            depth, current = depth - 1, current + ch
        elif ch == "," and depth == 0:
            args.append(current.strip())
            current = ""
        else:
            current += ch
        i += 1
    if current.strip():
        args.append(current.strip())
    return args


def _argument(text: str, data: Any, context: Any) -> Any:
    if text.startswith("'") and text.endswith("'"):
        return re.sub(r"\\(.)", r"\1", text[1:-1])
    if text.startswith("$"):
        return get_path(data, text, context)
    if text.startswith("States."):
        return _intrinsic(text, data, context)
    if text == "null":
        return None
    if text in ("true", "false"):
        return text == "true"
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise DefinitionError(f"bad intrinsic argument {text!r}") from exc


def _intrinsic(expression: str, data: Any, context: Any) -> Any:
    found = re.fullmatch(r"(States\.[A-Za-z.]+)\((.*)\)", expression, re.S)
    if not found:
        raise DefinitionError(f"malformed intrinsic function {expression!r}")
    name, raw = found.groups()
    args = [_argument(a, data, context) for a in _split_args(raw)]
    if name == "States.Format":
        template, values = str(args[0]), list(args[1:])

        def fill(_: re.Match[str]) -> str:
            if not values:
                raise AslError("States.IntrinsicFailure", f"too few arguments for {template!r}")
            value = values.pop(0)
            return value if isinstance(value, str) else json.dumps(value)

        return re.sub(r"(?<!\\)\{\}", fill, template)
    if name == "States.StringToJson":
        return json.loads(args[0])
    if name == "States.JsonToString":
        return json.dumps(args[0], separators=(",", ":"))
    if name == "States.Array":
        return list(args)
    if name == "States.ArrayLength":
        return len(args[0])
    if name == "States.ArrayGetItem":
        return args[0][args[1]]
    if name == "States.MathAdd":
        return args[0] + args[1]
    if name == "States.UUID":
        return str(uuid.uuid4())
    if name == "States.JsonMerge":
        return {**args[0], **args[1]}
    raise DefinitionError(f"intrinsic function {name} is not supported locally")


# Choice rules ----------------------------------------------------------------------------------------

_NUMERIC = {
    "NumericEquals",
    "NumericLessThan",
    "NumericGreaterThan",
    "NumericLessThanEquals",
    "NumericGreaterThanEquals",
}
_STRING = {
    "StringEquals",
    "StringLessThan",
    "StringGreaterThan",
    "StringLessThanEquals",
    "StringGreaterThanEquals",
}
_TIMESTAMP = {
    "TimestampEquals", "TimestampLessThan", "TimestampGreaterThan", "TimestampLessThanEquals",
    "TimestampGreaterThanEquals",
}  # fmt: skip


def _compare(op: str, left: Any, right: Any) -> bool:
    suffix = op.removeprefix("Numeric").removeprefix("String").removeprefix("Timestamp")
    return {
        "Equals": left == right,
        "LessThan": left < right,
        "GreaterThan": left > right,
        "LessThanEquals": left <= right,
        "GreaterThanEquals": left >= right,
    }[suffix]


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _as_time(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        return parse_iso(value)
    except ValueError:
        return None


def _string_matches(value: str, pattern: str) -> bool:
    """StringMatches: '*' matches any run of characters; '\\*' is a literal star."""
    parts = re.split(r"(?<!\\)\*", pattern)
    regex = ".*".join(re.escape(p.replace("\\*", "*").replace("\\\\", "\\")) for p in parts)
    return re.fullmatch(regex, value, re.S) is not None


def evaluate_rule(rule: dict[str, Any], data: Any, context: Any = None) -> bool:
    """One Choice rule (without its Next)."""
    if "And" in rule:
        return all(evaluate_rule(r, data, context) for r in rule["And"])
    if "Or" in rule:
        return any(evaluate_rule(r, data, context) for r in rule["Or"])
    if "Not" in rule:
        return not evaluate_rule(rule["Not"], data, context)
    variable = rule.get("Variable")
    if not variable:
        raise DefinitionError(f"Choice rule without Variable: {rule}")
    value = get_path(data, variable, context, strict=False)
    ops = [k for k in rule if k not in ("Variable", "Next", "Comment")]
    if len(ops) != 1:
        raise DefinitionError(f"Choice rule needs exactly one comparison: {rule}")
    op = ops[0]
    expected = rule[op]
    if op == "IsPresent":
        return (value is not _MISSING) == bool(expected)
    if value is _MISSING:
        if op in _TYPE_TESTS:
            return not expected
        raise AslError(
            "States.Runtime",
            f"Invalid path {variable!r}: the choice state's condition path references an invalid value",
        )
    test = _TYPE_TESTS.get(op)
    if test is not None:
        return test(value) == bool(expected)
    if op.endswith("Path"):
        op = op[: -len("Path")]
        expected = get_path(data, expected, context)
    return _comparison(op, value, expected)


_TYPE_TESTS: dict[str, Callable[[Any], bool]] = {
    "IsNull": lambda v: v is None,
    "IsString": lambda v: isinstance(v, str),
    "IsNumeric": lambda v: _is_number(v),
    "IsBoolean": lambda v: isinstance(v, bool),
    "IsTimestamp": lambda v: _as_time(v) is not None,
}


def _comparison(op: str, value: Any, expected: Any) -> bool:
    """A Choice comparison of `value` with `expected` (the Path forms already resolved)."""
    if op in _STRING:
        return isinstance(value, str) and isinstance(expected, str) and _compare(op, value, expected)
    if op == "StringMatches":
        return isinstance(value, str) and _string_matches(value, expected)
    if op in _NUMERIC:
        return _is_number(value) and _is_number(expected) and _compare(op, value, expected)
    if op == "BooleanEquals":
        return isinstance(value, bool) and value == expected
    if op in _TIMESTAMP:
        left, right = _as_time(value), _as_time(expected)
        return left is not None and right is not None and _compare(op, left, right)
    raise DefinitionError(f"Choice comparison {op} is not supported")


# Executions --------------------------------------------------------------------------------------


@dataclass
class Execution:
    execution_id: str
    name: str
    input: Any
    start_time: datetime
    status: str = "RUNNING"  # RUNNING | WAITING | SUCCEEDED | FAILED
    state: str | None = None  # the state to run next (or the Wait being waited on)
    data: Any = None
    wake_at: datetime | None = None
    output: Any = None
    error: str | None = None
    cause: str | None = None
    history: list[str] = field(default_factory=list)  # names of the states entered, in order

    @property
    def done(self) -> bool:
        return self.status in ("SUCCEEDED", "FAILED")


def _error_matches(names: list[str], error: str) -> bool:
    if "States.ALL" in names:
        return True
    if error in names:
        return True
    return "States.TaskFailed" in names and error != "States.Timeout" and not error.startswith("States.")


class Interpreter:
    """Runs one state machine definition; `invoke` calls a Lambda function, `now` reads the clock."""

    def __init__(
        self,
        definition: dict[str, Any] | str,
        invoke: Invoke,
        now: Callable[[], datetime],
        state_machine_arn: str = "arn:aws:states:local:000000000000:stateMachine:local",
    ) -> None:
        self.definition = json.loads(definition) if isinstance(definition, str) else definition
        self.invoke = invoke
        self.now = now
        self.state_machine_arn = state_machine_arn
        _validate(self.definition)

    # public API

    def start(self, input: Any, name: str | None = None, execution_id: str | None = None) -> Execution:
        """Create an execution and run it until it finishes or parks on a future Wait."""
        name = name or str(uuid.uuid4())
        execution = Execution(
            execution_id=execution_id
            or f"{self.state_machine_arn.replace(':stateMachine:', ':execution:')}:{name}",
            name=name,
            input=input,
            start_time=self.now(),
            state=self.definition["StartAt"],
            data=input,
        )
        return self.resume(execution)

    def resume(self, execution: Execution) -> Execution:
        """Continue a parked execution if its wait is over (no-op otherwise)."""
        if execution.done:
            return execution
        if execution.status == "WAITING":
            if execution.wake_at and execution.wake_at > self.now():
                return execution
            wait_state = self.definition["States"][execution.state]
            execution.status, execution.wake_at = "RUNNING", None
            next_state = self._after(wait_state, execution.data)
            if next_state is None:
                return self._succeed(execution, execution.data)
            execution.state = next_state
        try:
            self._run(execution, self.definition)
        except AslError as exc:
            execution.status, execution.error, execution.cause = "FAILED", exc.error, exc.cause
            execution.state = None
        return execution

    # machinery

    def _context(
        self, execution: Execution, state: str, retry: int = 0, item: Any = _MISSING
    ) -> dict[str, Any]:
        context: dict[str, Any] = {
            "Execution": {
                "Id": execution.execution_id,
                "Name": execution.name,
                "StartTime": iso(execution.start_time),
                "Input": execution.input,
                "RoleArn": "arn:aws:iam::000000000000:role/kaeri-local",
            },
            "StateMachine": {"Id": self.state_machine_arn, "Name": self.state_machine_arn.rsplit(":", 1)[-1]},
            "State": {"Name": state, "EnteredTime": iso(self.now()), "RetryCount": retry},
        }
        if item is not _MISSING:
            context["Map"] = {"Item": item}
        return context

    def _succeed(self, execution: Execution, output: Any) -> Execution:
        execution.status, execution.output, execution.state = "SUCCEEDED", output, None
        return execution

    def _run(self, execution: Execution, machine: dict[str, Any], item: Any = _MISSING) -> None:
        """Run `machine` (top level or a branch) from execution.state; stops on a future Wait."""
        states = machine["States"]
        for _ in range(MAX_TRANSITIONS):
            name = execution.state
            assert name is not None
            state = states[name]
            execution.history.append(name)
            data = execution.data
            kind = state["Type"]
            if kind == "Wait":
                wake = self._wake_time(state, self._input(state, data, execution, name, item))
                if wake > self.now():
                    execution.status, execution.wake_at = "WAITING", wake
                    return
                output = self._output(state, data)
            elif kind == "Succeed":
                self._succeed(execution, self._output(state, self._input(state, data, execution, name, item)))
                return
            elif kind == "Fail":
                error = state.get("Error") or ""
                cause = state.get("Cause") or ""
                if "ErrorPath" in state:
                    error = str(get_path(data, state["ErrorPath"], self._context(execution, name)))
                if "CausePath" in state:
                    cause = str(get_path(data, state["CausePath"], self._context(execution, name)))
                raise AslError(error or "States.Fail", cause)
            elif kind == "Choice":
                effective = self._input(state, data, execution, name, item, parameters=False)
                target = next(
                    (
                        r["Next"]
                        for r in state["Choices"]
                        if evaluate_rule(r, effective, self._context(execution, name))
                    ),
                    state.get("Default"),
                )
                if target is None:
                    raise AslError("States.NoChoiceMatched", f"no Choice rule matched in {name}")
                execution.data = self._output(state, effective) if "OutputPath" in state else effective
                execution.state = target
                continue
            elif kind == "Pass":
                effective = self._input(state, data, execution, name, item)
                result = state.get("Result", effective)
                output = self._output(state, self._result(state, data, result))
            elif kind in ("Task", "Parallel", "Map"):
                outcome = self._attempt(execution, name, state, data, item)
                if isinstance(outcome, tuple):  # caught: (next state, data)
                    execution.state, execution.data = outcome
                    continue
                output = outcome
            else:
                raise DefinitionError(f"state type {kind} ({name}) is not supported")
            execution.data = output
            following = self._after(state, output)
            if following is None:
                self._succeed(execution, output)
                return
            execution.state = following
        raise AslError("States.Runtime", f"more than {MAX_TRANSITIONS} transitions (a loop without a Wait?)")

    def _after(self, state: dict[str, Any], output: Any) -> str | None:
        if state.get("End"):
            return None
        if "Next" not in state:
            raise DefinitionError(f"state without Next or End: {state}")
        return state["Next"]

    def _input(
        self,
        state: dict[str, Any],
        data: Any,
        execution: Execution,
        name: str,
        item: Any,
        parameters: bool = True,
    ) -> Any:
        effective = data
        if "InputPath" in state:
            effective = {} if state["InputPath"] is None else get_path(data, state["InputPath"], None)
        if parameters and "Parameters" in state and state["Type"] != "Map":
            effective = render(state["Parameters"], effective, self._context(execution, name, item=item))
        return effective

    def _result(self, state: dict[str, Any], data: Any, result: Any) -> Any:
        if "ResultPath" not in state:
            return result
        if state["ResultPath"] is None:
            return data
        return set_path(data, state["ResultPath"], result)

    def _output(self, state: dict[str, Any], data: Any) -> Any:
        if "OutputPath" not in state:
            return data
        if state["OutputPath"] is None:
            return {}
        return get_path(data, state["OutputPath"], None)

    def _wake_time(self, state: dict[str, Any], data: Any) -> datetime:
        if "Seconds" in state:
            return self.now() + timedelta(seconds=state["Seconds"])
        if "SecondsPath" in state:
            seconds = get_path(data, state["SecondsPath"], None)
            if not _is_number(seconds) or seconds < 0:
                raise AslError(
                    "States.Runtime", f"SecondsPath {state['SecondsPath']} is not a non-negative number"
                )
            return self.now() + timedelta(seconds=seconds)
        raw = state["Timestamp"] if "Timestamp" in state else get_path(data, state["TimestampPath"], None)
        when = _as_time(raw)
        if when is None:
            raise AslError("States.Runtime", f"Wait timestamp {raw!r} is not an ISO 8601 time")
        return when

    def _attempt(self, execution: Execution, name: str, state: dict[str, Any], data: Any, item: Any) -> Any:
        """Run a Task/Parallel/Map with its Retry and Catch; a caught error returns (next, data)."""
        attempts: dict[int, int] = {}
        while True:
            retry = sum(attempts.values())
            try:
                effective = self._input(state, data, execution, name, item)
                context = self._context(execution, name, retry, item)
                if state["Type"] == "Task":
                    result = self._task(state, effective, context)
                elif state["Type"] == "Parallel":
                    result = [self._branch(execution, b, effective, item) for b in state["Branches"]]
                else:
                    result = self._map(execution, name, state, data, effective)
                if "ResultSelector" in state:
                    result = render(state["ResultSelector"], result, context)
                return self._output(state, self._result(state, data, result))
            except AslError as exc:
                for index, retrier in enumerate(state.get("Retry", [])):
                    if _error_matches(retrier["ErrorEquals"], exc.error):
                        if attempts.get(index, 0) < retrier.get("MaxAttempts", 3):
                            attempts[index] = attempts.get(index, 0) + 1
                            break
                        retrier = None  # exhausted: fall through to Catch
                        break
                else:
                    retrier = None
                if retrier is not None:
                    continue  # retried at once: the interval is not waited for locally
                for catcher in state.get("Catch", []):
                    if _error_matches(catcher["ErrorEquals"], exc.error):
                        error_output = {"Error": exc.error, "Cause": exc.cause}
                        path = catcher.get("ResultPath", "$")
                        caught = data if path is None else set_path(data, path, error_output)
                        return catcher["Next"], caught
                raise

    def _task(self, state: dict[str, Any], effective: Any, context: dict[str, Any]) -> Any:
        resource = state["Resource"]
        if resource.startswith(LAMBDA_INVOKE):
            if not isinstance(effective, dict) or "FunctionName" not in effective:
                raise AslError("States.Runtime", "lambda:invoke needs Parameters with FunctionName")
            payload = effective.get("Payload", {})
            result = self._call(effective["FunctionName"], payload)
            return {"ExecutedVersion": "$LATEST", "Payload": result, "StatusCode": 200, "SdkHttpMetadata": {}}
        if resource.startswith("arn:aws:lambda:") or ":function:" in resource:
            return self._call(resource, effective)
        raise DefinitionError(f"Task resource {resource} is not supported locally")

    def _call(self, function: str, payload: Any) -> Any:
        try:
            result = self.invoke(function, copy.deepcopy(payload))
        except AslError:
            raise
        except Exception as exc:  # a Lambda function error: errorType is the exception's class name
            cause = json.dumps({"errorMessage": str(exc), "errorType": type(exc).__name__})
            raise AslError(type(exc).__name__, cause) from exc
        # Lambda returns JSON: what the function returns must survive a round trip.
        return json.loads(json.dumps(result, default=str))

    def _branch(self, execution: Execution, machine: dict[str, Any], data: Any, item: Any) -> Any:
        inner = Execution(
            execution_id=execution.execution_id,
            name=execution.name,
            input=execution.input,
            start_time=execution.start_time,
            state=machine["StartAt"],
            data=data,
        )
        self._run(inner, machine, item)
        execution.history.extend(inner.history)
        if inner.status == "WAITING":
            raise DefinitionError("a Wait inside Parallel or Map is not supported by the local interpreter")
        return inner.output

    def _map(
        self, execution: Execution, name: str, state: dict[str, Any], data: Any, effective: Any
    ) -> list[Any]:
        items = get_path(effective, state.get("ItemsPath", "$"), None)
        if not isinstance(items, list):
            raise AslError("States.Runtime", f"Map {name}: ItemsPath does not select an array")
        machine = state.get("ItemProcessor") or state.get("Iterator")
        if machine is None:
            raise DefinitionError(f"Map {name} has no ItemProcessor")
        selector = state.get("ItemSelector") or state.get("Parameters")
        results = []
        for index, value in enumerate(items):
            map_item = {"Index": index, "Value": value}
            item_input = value
            if selector is not None:
                item_input = render(selector, effective, self._context(execution, name, item=map_item))
            results.append(self._branch(execution, machine, item_input, map_item))
        return results


def _validate(definition: dict[str, Any], where: str = "definition") -> None:
    if "StartAt" not in definition or "States" not in definition:
        raise DefinitionError(f"{where} needs StartAt and States")
    states = definition["States"]
    if definition["StartAt"] not in states:
        raise DefinitionError(f"{where}: StartAt {definition['StartAt']!r} is not a state")
    for name, state in states.items():
        targets = [state.get("Next"), state.get("Default")]
        targets += [c.get("Next") for c in state.get("Choices", [])] + [
            c.get("Next") for c in state.get("Catch", [])
        ]
        for target in targets:
            if target is not None and target not in states:
                raise DefinitionError(f"{where}: state {name!r} goes to unknown state {target!r}")
        for branch in state.get("Branches", []):
            _validate(branch, f"{where}/{name}")
        for key in ("ItemProcessor", "Iterator"):
            if key in state:
                _validate(state[key], f"{where}/{name}")
