"""Keys at the HTTP edge: who is asking (the middleware: a key, a browser session, or the server's local
token) and whether they may (the guards). The rules themselves live in `peoplegraph.access`."""

from __future__ import annotations

import asyncio
import getpass
import logging
import sys
from urllib.parse import urlsplit

from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException, NotFoundException, PermissionDeniedException
from litestar.handlers.base import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult, DefineMiddleware

from peoplegraph.access.keys import ROLES, Access, KeyService, access, same_secret
from peoplegraph.access.sessions import COOKIE as SESSION_COOKIE
from peoplegraph.access.sessions import CSRF_HEADER, Sessions
from peoplegraph.api.graph_reads import GraphReads
from peoplegraph.identity.records import ApiKeyRecord
from peoplegraph.observations.model import validate_project_name
from peoplegraph.services.runtime import Runtime

log = logging.getLogger(__name__)
# the web UI's pages, liveness, the API's own description and browser pages (they hold no data; their requests carry a key), a
# share link's guest routes (the link is their credential), and signing in (the key is in the body)
OPEN_PATHS = ["^/$", "^/health$", "^/schema", "^/graphiql", "^/static/", "^/share/", "^/session$"]
SAFE_METHODS = {"GET", "HEAD", "OPTIONS"}


def presented_key(connection: ASGIConnection) -> str:
    header = connection.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()
    return connection.headers.get("x-api-key", "").strip()


LOCAL_KEY_ID = "local"  # who the server's local token (cli/through_server.py) signs in as


def local_user(name: str) -> ApiKeyRecord:
    return ApiKeyRecord(key_id=LOCAL_KEY_ID, name=name, project="", role="admin", created_at="")


def refuse_foreign_writes(connection: ASGIConnection) -> None:
    """A write whose Origin is another site is refused, whatever credentials it carries."""
    origin = connection.headers.get("origin")
    if connection.scope.get("method") not in SAFE_METHODS and origin and origin != "null" \
            and urlsplit(origin).netloc != connection.headers.get("host", ""):
        raise PermissionDeniedException(f"a write from another site ({origin}) is refused")


def browser_sessions(runtime: Runtime) -> Sessions:
    return Sessions(runtime.graph, runtime.settings.data_dir / "session.key", runtime.settings.session_hours * 3600)


class KeyAuthentication(AbstractAuthenticationMiddleware):
    """Every request but OPEN_PATHS carries a live key (`Authorization: Bearer <key>` or `X-API-Key`), or a
    browser session's cookie (peoplegraph.access.sessions) with, for a write, its CSRF token; so a page on
    another site cannot act with a browser's credentials. A write whose Origin is not this server is refused
    all the same."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        refuse_foreign_writes(connection)
        runtime: Runtime = connection.app.state.runtime
        secret = presented_key(connection)
        local = getattr(connection.app.state, "local_server", None)
        if secret and local is not None and same_secret(secret, local.token):
            return AuthenticationResult(user=local_user(getpass.getuser()), auth=secret)
        reads: GraphReads = connection.app.state.graph_reads
        if secret:
            key_id = KeyService.key_id_of(secret)
            key = None if key_id is None else KeyService.verified(secret, await reads.api_key(key_id))
            if key is None:
                raise NotAuthorizedException("unknown or revoked API key")
            return AuthenticationResult(user=key, auth=secret)
        cookie = connection.cookies.get(SESSION_COOKIE)
        if not cookie:
            raise NotAuthorizedException("send an API key: `Authorization: Bearer <key>` (`peoplegraph keys create`)")
        sessions = browser_sessions(runtime)
        key_id = await asyncio.to_thread(sessions.key_id_of, cookie)  # reads the session key's file once
        session = None if key_id is None else sessions.resumed(cookie, await reads.api_key(key_id))
        if session is None:
            raise NotAuthorizedException("the session has ended (expired, or its key revoked): sign in again")
        if connection.scope.get("method") not in SAFE_METHODS and \
                not Sessions.csrf_ok(session, connection.headers.get(CSRF_HEADER, "")):
            raise PermissionDeniedException("a write in a browser session needs its X-CSRF-Token header "
                                            "(from signing in, or GET /session)")
        return AuthenticationResult(user=session.key, auth=session)


def authentication() -> DefineMiddleware:
    return DefineMiddleware(KeyAuthentication, exclude=OPEN_PATHS)


def may_undo_any(key: ApiKeyRecord) -> bool:
    """Owners (and admins) undo any action; editors only their own."""
    return ROLES.index(key.role) >= ROLES.index("owner")


async def check_project(runtime: Runtime, key: ApiKeyRecord, project: str, role: str) -> None:
    """404 for another project's key and for a project that does not exist, 403 for a role too low."""
    validate_project_name(project)
    decision = access(key, project, role)
    if decision is Access.FORBIDDEN:
        article = "an" if key.role[0] in "aeiou" else "a"
        raise PermissionDeniedException(f"the key {key.name!r} is {article} {key.role} key: this needs {role} or above")
    # a project key's project exists (its keys go with it): only an admin key can name one that does not
    if decision is Access.HIDDEN or (key.role == "admin" and project not in await asyncio.to_thread(
            runtime.graph.projects)):
        raise NotFoundException(f"no project {project!r}")


async def project_guard(connection: ASGIConnection, handler: BaseRouteHandler) -> None:
    """Routes under /projects/{project}: the role the handler names in its `opt` (viewer when none). OPTIONS
    (which methods a path has) reaches no data and comes without a key, as browsers send it."""
    project = connection.path_params.get("project")
    if project is not None and connection.scope.get("method") != "OPTIONS":
        await check_project(connection.app.state.runtime, connection.user, project, handler.opt.get("role", "viewer"))


def admin_guard(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    if connection.scope.get("method") != "OPTIONS" and connection.user.role != "admin":
        raise PermissionDeniedException("only an admin key may do this")


def first_admin_key(runtime: Runtime) -> str | None:
    """A new data folder's admin key, printed once (as Jupyter prints its token); None when one exists."""
    issued = KeyService(runtime.graph).first_admin_key()
    if issued is None:
        return None
    print(f"\npeoplegraph: the admin key of this data folder (shown once, keep it):\n\n    {issued.secret}\n\n"
          "Send it as `Authorization: Bearer <key>`; `peoplegraph keys create` makes project keys.\n",
          file=sys.stderr, flush=True)
    return issued.secret
