"""JSON request bodies are read as JSON says, before Litestar's own conversion: a body must say it is JSON
(Content-Type application/json; 415 otherwise), must be there, and its values must be of their field's JSON
type. Litestar converts request bodies leniently, as it does query strings, so that `"accept": "false"` or
`"accept": 0` would pass as a real answer; an editor's decision is never read from a string that looks like
one."""

from __future__ import annotations

import re

import msgspec
from litestar import Request
from litestar.enums import RequestEncodingType
from litestar.exceptions import HTTPException
from litestar.params import BodyKwarg
from litestar.status_codes import HTTP_415_UNSUPPORTED_MEDIA_TYPE

JSON = "application/json"
_AT = re.compile(r"^(?P<problem>.*) - at `\$\.?(?P<field>[^`]*)`$", re.DOTALL)


async def strict_json_body(request: Request) -> None:
    """A `before_request` hook: refuses a handler's JSON `data` that is missing, not JSON, or of other types
    than its fields' (ValueError, answered 400 naming the field)."""
    parameter = request.route_handler.parsed_fn_signature.parameters.get("data")
    if parameter is None:
        return
    kwarg = parameter.kwarg_definition
    if isinstance(kwarg, BodyKwarg) and kwarg.media_type != RequestEncodingType.JSON:
        return
    media = request.content_type[0]
    if media != JSON:
        raise HTTPException(status_code=HTTP_415_UNSUPPORTED_MEDIA_TYPE,
                            detail=f"the request body must be JSON (Content-Type: {JSON}); it was sent as "
                                   f"{media or 'nothing named (no Content-Type)'}")
    raw = await request.body()
    if not raw.strip():
        raise ValueError("the request body is empty: send a JSON object")
    try:
        msgspec.json.decode(raw, type=parameter.annotation, strict=True)
    except msgspec.ValidationError as exc:
        raise ValueError(_named(str(exc))) from None
    except msgspec.DecodeError as exc:
        raise ValueError(f"the request body is not valid JSON: {exc}") from None


def _named(message: str) -> str:
    """msgspec's "Expected `bool`, got `str` - at `$.accept`" as "accept: expected bool, got str"."""
    found = _AT.match(message)
    problem, field = (found["problem"], found["field"]) if found else (message, "")
    problem = problem.replace("`", "")
    return f"{field or 'body'}: {problem[:1].lower()}{problem[1:]}"
