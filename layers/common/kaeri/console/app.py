"""The console's routes: sign-in, then every page of one shop under /console/shops/{shop_id}/...

Thin over the domain: pages call the same stores, previews and analytics the CLI calls. One guard
(kaeri.console.web.shop) is on every shop route: a marketer who does not belong to the shop gets 404
(no existence leak); without a session every page answers 303 to the sign-in page; every POST carries
the session's CSRF token. The pages are Powertools Routers in kaeri.console.routes, one per page group.
"""

from __future__ import annotations

from aws_lambda_powertools.event_handler import APIGatewayRestResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from kaeri.console.routes import audience, report, scenarios, session, templates
from kaeri.console.web import BadRequest, Console, NotFound, Redirect, bind_console, not_found_page, see_other

__all__ = ["Console", "build_app"]

ROUTERS = (session.router, scenarios.router, audience.router, templates.router, report.router)


def build_app(console: Console) -> APIGatewayRestResolver:
    app = APIGatewayRestResolver()

    def redirect(exc: Redirect) -> Response[str]:
        return see_other(exc.location)

    def not_found(exc: Exception) -> Response[str]:
        return not_found_page(console, app.current_event)

    def bad_request(exc: BadRequest) -> Response[str]:
        return Response(status_code=400, content_type="text/plain; charset=utf-8", body=str(exc))

    # Powertools' exception_handler is an unannotated decorator factory: registered by call, not as a
    # decorator, so the handlers keep their types.
    app.exception_handler(Redirect)(redirect)
    app.exception_handler([NotFound, NotFoundError])(not_found)
    app.exception_handler(BadRequest)(bad_request)
    app.use([bind_console(console)])
    for router in ROUTERS:
        app.include_router(router)
    return app
