"""Errors become clear JSON answers naming the problem, never a traceback."""

from __future__ import annotations

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.status_codes import HTTP_400_BAD_REQUEST, HTTP_503_SERVICE_UNAVAILABLE

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.observations.store import StoreBusyError


def _answer(status: int):
    def handler(_: Request, exc: Exception) -> Response:
        if isinstance(exc, HTTPException):  # some of Litestar's own exceptions are ValueErrors too
            code, detail = exc.status_code, exc.detail
        else:
            code, detail = status, str(exc)
        return Response({"status_code": code, "detail": detail}, status_code=code)

    return handler


EXCEPTION_HANDLERS = {
    ValueError: _answer(HTTP_400_BAD_REQUEST),
    ModelPackError: _answer(HTTP_503_SERVICE_UNAVAILABLE),
    StoreBusyError: _answer(HTTP_503_SERVICE_UNAVAILABLE),
}
