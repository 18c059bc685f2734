"""The web UI's pages: the editor's review at `/` and a guest's page at `/share/{token}`. Each is a small HTML
shell whose script (static/ui, committed: no build step, no CDN) talks to the REST and GraphQL API with the
browser's session; the pages themselves hold no data, so they are served without a key."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from litestar import Controller, MediaType, Response, get

from peoplegraph import __version__

UI = Path(__file__).resolve().parents[1] / "static" / "ui"
# scripts and styles from this server only; images may be blob: URLs (a selfie's preview)
POLICY = ("default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; "
          "connect-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'")


@cache
def _page(name: str) -> str:
    # the version in the asset URLs: a new release is fetched at once despite the day-long static cache
    return (UI / name).read_text(encoding="utf-8").replace("{{version}}", __version__)


def page(name: str) -> Response[str]:
    return Response(_page(name), media_type=MediaType.HTML, headers={
        "Cache-Control": "no-cache", "Content-Security-Policy": POLICY, "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer"})


class EditorPageController(Controller):
    path = "/"

    @get("/", include_in_schema=False)
    async def editor(self) -> Response[str]:
        return page("app.html")


class GuestPageController(Controller):
    path = "/share/{token:str}"

    @get("/", include_in_schema=False)
    async def guest(self, token: str) -> Response[str]:  # the token is read by the page's script, not here
        return page("guest.html")
