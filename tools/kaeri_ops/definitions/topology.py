"""Which function serves which route or trigger: read by the CDK app and the local stack alike."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal


@dataclass(frozen=True)
class Function:
    name: str  # logical name, also the CDK construct id suffix
    code_dir: str  # relative to the repository root
    handler: str  # module.function inside code_dir
    numpy: bool = False  # gets the numpy layer (only functions/recommend)


TRACK_API = Function("track-api", "functions/track", "track_api.handler")
EVALUATE_STREAM = Function("evaluate-stream", "functions/evaluate", "evaluate_stream.handler")
EVALUATE_SCHEDULE = Function("evaluate-schedule", "functions/evaluate", "evaluate_schedule.handler")
EVALUATE_FANOUT = Function("evaluate-fanout", "functions/evaluate", "evaluate_fanout.handler")
EVALUATE_STEP = Function("evaluate-step", "functions/evaluate", "evaluate_step.handler")
SEND_MESSAGE = Function("send-message", "functions/send", "send_message.handler")
SEND_FEEDBACK = Function("send-feedback", "functions/send", "send_feedback.handler")
SEND_LINKS = Function("send-links", "functions/send", "send_links.handler")
RECOMMEND_NIGHTLY = Function(
    "recommend-nightly", "functions/recommend", "recommend_nightly.handler", numpy=True
)
REPORT_NIGHTLY = Function("report-nightly", "functions/report", "report_nightly.handler")
CONSOLE = Function("console", "functions/console", "console_app.handler")

FUNCTIONS: tuple[Function, ...] = (
    TRACK_API,
    EVALUATE_STREAM,
    EVALUATE_SCHEDULE,
    EVALUATE_FANOUT,
    EVALUATE_STEP,
    SEND_MESSAGE,
    SEND_FEEDBACK,
    SEND_LINKS,
    RECOMMEND_NIGHTLY,
    REPORT_NIGHTLY,
    CONSOLE,
)


Trust = Literal["write", "server", "customer", "webhook", "link", "console"]


@dataclass(frozen=True)
class Route:
    """One HTTP route and the credential it needs (docs/tracking.md, "Keys"):

    write: the public write key (or the server key); server: the secret server key only;
    customer: the server key or a customer token for the customer asked about; webhook: the
    platform's signature (Shopify HMAC); link: the signed token in the path (unsubscribe, redirect);
    console: a marketer's Cognito session (kaeri.console.auth), membership checked per shop.
    """

    method: str  # or "ANY" (every method, as API Gateway's ANY)
    path: str  # API Gateway style, with {params}
    function: Function
    trust: Trust = "write"


ROUTES: tuple[Route, ...] = (
    Route("POST", "/v1/track", TRACK_API),
    Route("POST", "/v1/identify", TRACK_API),
    Route("POST", "/v1/page", TRACK_API),
    Route("POST", "/v1/alias", TRACK_API),
    Route("POST", "/v1/screen", TRACK_API),
    Route("POST", "/v1/group", TRACK_API),
    Route("POST", "/v1/batch", TRACK_API),
    Route("PUT", "/v1/catalog/products", TRACK_API, "server"),
    Route("POST", "/v1/tokens", TRACK_API, "server"),
    Route("POST", "/v1/webhooks/shopify/{topic+}", TRACK_API, "webhook"),
    Route("GET", "/v1/recommendations", TRACK_API, "customer"),
    Route("GET", "/v1/u/{token}", SEND_LINKS, "link"),
    Route("POST", "/v1/u/{token}", SEND_LINKS, "link"),
    Route("GET", "/v1/r/{token}", SEND_LINKS, "link"),
    Route("ANY", "/console", CONSOLE, "console"),
    Route("ANY", "/console/{proxy+}", CONSOLE, "console"),
)
