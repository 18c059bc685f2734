"""Signing a browser in and out (peoplegraph.access.sessions has the rules): the key is sent once, in the
body; the browser keeps a session cookie, and the page the CSRF token this answers."""

from __future__ import annotations

import asyncio
import datetime as dt

from litestar import Controller, Request, Response, delete, get, post
from litestar.datastructures import Cookie
from litestar.exceptions import NotAuthorizedException

from peoplegraph.access.sessions import COOKIE, Session
from peoplegraph.api.access import browser_sessions, refuse_foreign_writes
from peoplegraph.api.schemas import Body, SessionInfo, SignedOut


class SignIn(Body):
    key: str


def _answer(session: Session) -> SessionInfo:
    key = session.key
    return SessionInfo(name=key.name, role=key.role, project=key.project or None, csrf=session.csrf,
                       expires_at=dt.datetime.fromtimestamp(session.expires, dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ"))


class SessionController(Controller):
    path = "/session"

    @post("/", status_code=200, description="Sign a browser in with a key (in the body, never a URL): answers "
          "who it is and the CSRF token every write must carry (X-CSRF-Token); sets the session cookie "
          "(HttpOnly, SameSite=Strict).")
    async def sign_in(self, data: SignIn, request: Request) -> Response[SessionInfo]:
        refuse_foreign_writes(request)
        sessions = browser_sessions(request.app.state.runtime)
        session = await asyncio.to_thread(sessions.sign_in, data.key.strip())
        if session is None:
            raise NotAuthorizedException("unknown or revoked API key")
        cookie = Cookie(key=COOKIE, value=session.token, httponly=True, samesite="strict", path="/",
                        secure=request.url.scheme == "https", max_age=int(sessions.lifetime_s))
        return Response(_answer(session), cookies=[cookie], headers={"Cache-Control": "no-store"})

    @get("/", description="The browser's session: who it is, and its CSRF token (after a page reload).")
    async def current(self, request: Request) -> Response[SessionInfo]:
        token = request.cookies.get(COOKIE, "")
        session = await asyncio.to_thread(browser_sessions(request.app.state.runtime).resume, token) if token else None
        if session is None:
            raise NotAuthorizedException("not signed in (or the session has ended): POST /session with a key")
        return Response(_answer(session), headers={"Cache-Control": "no-store"})

    @delete("/", status_code=200, description="Sign the browser out: its session cookie is cleared.")
    async def sign_out(self, request: Request) -> Response[SignedOut]:
        refuse_foreign_writes(request)
        cookie = Cookie(key=COOKIE, value="", httponly=True, samesite="strict", path="/", max_age=0)
        return Response(SignedOut(True), cookies=[cookie])
