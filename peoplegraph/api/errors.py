"""Errors become clear JSON answers naming the problem, never a traceback."""

from __future__ import annotations

from litestar import Request, Response
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_503_SERVICE_UNAVAILABLE

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.observations.store import StoreBusyError


def _answer(status: int):
    def handler(_: Request, exc: Exception) -> Response:
        return Response({"status_code": status, "detail": str(exc)}, status_code=status)

    return handler


EXCEPTION_HANDLERS = {
    ValueError: _answer(HTTP_400_BAD_REQUEST),
    ModelPackError: _answer(HTTP_503_SERVICE_UNAVAILABLE),
    StoreBusyError: _answer(HTTP_503_SERVICE_UNAVAILABLE),
}
