"""Errors become clear JSON answers naming the problem, never a traceback."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST, HTTP_404_NOT_FOUND, HTTP_409_CONFLICT, HTTP_413_REQUEST_ENTITY_TOO_LARGE, HTTP_500_INTERNAL_SERVER_ERROR,
    HTTP_503_SERVICE_UNAVAILABLE,
)

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.linking.service import Conflict, Missing
from peoplegraph.observations.store import StoreBusyError


def _answer(status: int):
    def handler(request: Request, exc: Exception) -> Response:
        headers = None
        if isinstance(exc, HTTPException):  # some of Litestar's own exceptions are ValueErrors too
            code, detail, headers = exc.status_code, exc.detail, exc.headers  # Retry-After, Allow...
            if code == HTTP_413_REQUEST_ENTITY_TOO_LARGE:
                detail = _too_large(request)
            problems = [e for e in exc.extra if isinstance(e, dict)] if isinstance(exc.extra, list) else []
            if problems:  # the fields at fault, as Litestar's validation names them
                detail += ": " + "; ".join(f"{e.get('key') or e.get('source') or 'body'}: {e.get('message')}"
                                           for e in problems)
        else:
            code, detail = status, str(exc)
        return Response({"status_code": code, "detail": detail}, status_code=code, headers=headers)

    return handler


log = logging.getLogger(__name__)


def _too_large(request: Request) -> str:
    """Which limit a request refused while it streamed in was past (the body is never read whole first)."""
    settings = request.app.state.runtime.settings
    if request.url.path.startswith("/graphql"):
        return (f"the GraphQL request is larger than {settings.graphql_max_query_bytes:,} bytes "
                "(PEOPLEGRAPH_GRAPHQL_MAX_QUERY_BYTES)")
    return (f"the upload is larger than {settings.max_upload_bytes:,} bytes (PEOPLEGRAPH_MAX_UPLOAD_BYTES): send "
            "fewer photos at a time")


def _unexpected(request: Request, exc: Exception) -> Response:
    """A bug or an outage: logged with its traceback for the operator, a plain line for the client."""
    if isinstance(exc, HTTPException):
        return _answer(exc.status_code)(request, exc)
    log.error("%s %s failed", request.method, request.url.path, exc_info=exc)
    return Response({"status_code": HTTP_500_INTERNAL_SERVER_ERROR,
                     "detail": f"internal error ({type(exc).__name__}); the server log has the details"},
                    status_code=HTTP_500_INTERNAL_SERVER_ERROR)


EXCEPTION_HANDLERS = {
    Exception: _unexpected,
    ValueError: _answer(HTTP_400_BAD_REQUEST),
    Conflict: _answer(HTTP_409_CONFLICT),
    Missing: _answer(HTTP_404_NOT_FOUND),
    ModelPackError: _answer(HTTP_503_SERVICE_UNAVAILABLE),
    StoreBusyError: _answer(HTTP_503_SERVICE_UNAVAILABLE),
}
