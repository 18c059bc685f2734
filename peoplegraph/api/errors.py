"""Errors become clear JSON answers naming the problem, never a traceback."""

from __future__ import annotations

import logging

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import (
    HTTP_400_BAD_REQUEST, HTTP_409_CONFLICT, HTTP_500_INTERNAL_SERVER_ERROR, HTTP_503_SERVICE_UNAVAILABLE,
)

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.linking.service import Conflict
from peoplegraph.observations.store import StoreBusyError


def _answer(status: int):
    def handler(_: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # some of Litestar's own exceptions are ValueErrors too
            code, detail = exc.status_code, exc.detail
            problems = [e for e in exc.extra if isinstance(e, dict)] if isinstance(exc.extra, list) else []
            if problems:  # the fields at fault, as Litestar's validation names them
                detail += ": " + "; ".join(f"{e.get('key') or e.get('source') or 'body'}: {e.get('message')}"
                                           for e in problems)
        else:
            code, detail = status, str(exc)
        return Response({"status_code": code, "detail": detail}, status_code=code)

    return handler


log = logging.getLogger(__name__)


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
    ModelPackError: _answer(HTTP_503_SERVICE_UNAVAILABLE),
    StoreBusyError: _answer(HTTP_503_SERVICE_UNAVAILABLE),
}
