"""Share links at the HTTP edge: owners and editors make them; a guest with one finds their own photos by a
selfie (peoplegraph.access.share has the rules)."""

from __future__ import annotations

import asyncio
from dataclasses import asdict
from typing import Annotated, Any
from urllib.parse import quote, unquote

from litestar import Controller, Request, Response, delete, get, post
from litestar.exceptions import NotFoundException, TooManyRequestsException
from litestar.params import Parameter
from litestar.response import Stream

from peoplegraph.access.share import RateLimits, ShareLinkError, ShareLinks
from peoplegraph.api import schemas
from peoplegraph.api.schemas import Body
from peoplegraph.api.access import project_guard
from peoplegraph.api.photos.controllers import multipart_files
from peoplegraph.api.photos.media import CACHE, zip_response
from peoplegraph.identity.records import ShareLinkRecord
from peoplegraph.media.store import THUMBNAIL_SIDES
from peoplegraph.services import export, photo_media
from peoplegraph.services import search as search_service
from peoplegraph.services.runtime import Runtime


MAX_EXPORT = 2000  # photos in one guest download


class GuestExport(Body):
    photos: list[str]


class NewShareLink(Body):
    event_id: str = ""
    album: list[str] | None = None  # photo ids: a link to these photos alone
    expires_in_hours: float | None = None
    password: str = ""


def share_links(runtime: Runtime) -> ShareLinks:
    return ShareLinks(runtime.graph, runtime.settings.data_dir / "share.key")


def _link_to_dict(link: ShareLinkRecord) -> dict[str, Any]:
    shown = asdict(link)
    shown["has_password"] = bool(shown.pop("password"))
    return shown


def _shown(link: ShareLinkRecord) -> schemas.ShareLink:
    return schemas.typed(_link_to_dict(link), schemas.ShareLink)


class ShareLinkController(Controller):
    """The share links of a project (editors and owners)."""

    path = "/projects/{project:str}/share-links"
    guards = [project_guard]
    opt = {"role": "editor"}

    @post("/", status_code=201, description="A guest link to the project, to one `event_id` of it, or to an "
          "`album` (a list of photo ids), with an optional expiry (`expires_in_hours`) and `password`; its token and "
          "URL are shown once.")
    async def create(self, project: str, data: NewShareLink, request: Request, runtime: Runtime
                     ) -> schemas.IssuedShareLink:
        issued = await asyncio.to_thread(share_links(runtime).create, project, request.user.name,
                                         event_id=data.event_id, expires_in_hours=data.expires_in_hours,
                                         password=data.password, album=data.album)
        return schemas.typed({**_link_to_dict(issued.record), "token": issued.token, "url": f"/share/{issued.token}"},
                             schemas.IssuedShareLink)

    @get("/", description="The project's share links (never their tokens).")
    async def list_links(self, project: str, runtime: Runtime) -> list[schemas.ShareLink]:
        return [_shown(link) for link in await asyncio.to_thread(share_links(runtime).links, project)]

    @delete("/{link_id:str}", status_code=200, description="Revoke a share link: it stops working at once.")
    async def revoke(self, project: str, link_id: str, runtime: Runtime) -> schemas.ShareLink:
        try:
            return _shown(await asyncio.to_thread(share_links(runtime).revoke, project, link_id))
        except KeyError as exc:
            raise NotFoundException(str(exc.args[0])) from None


async def _open(request: Request, token: str) -> ShareLinkRecord:
    try:
        return await asyncio.to_thread(share_links(request.app.state.runtime).open, token)
    except ShareLinkError as exc:
        raise NotFoundException(str(exc)) from None


def presented_password(header: str) -> str:
    """X-Share-Password as sent: plain (ASCII), or RFC 8187's `UTF-8''<percent-encoded>` for any other
    characters, which an HTTP header cannot carry as they are (browsers refuse them)."""
    charset, quoted, encoded = header.partition("''")
    if quoted and charset.strip().lower() == "utf-8":
        return unquote(encoded, encoding="utf-8", errors="strict")
    return header


PASSWORD = Parameter(header="X-Share-Password", required=False,
                     description="The link's password, when it has one: as it is in ASCII, else RFC 8187's "
                                 "`UTF-8''` followed by the password's UTF-8 bytes, percent-encoded.")


async def _check_password(request: Request, link: ShareLinkRecord, sent: str | None) -> None:
    """The link's password as the X-Share-Password header sent it; each try counts against the rate limit, so
    passwords cannot be guessed faster than searches are made."""
    limits: RateLimits = request.app.state.share_limits
    client = request.client.host if request.client else ""
    wait = limits.wait_s(link.link_id, client)
    if wait:
        raise TooManyRequestsException(f"too many searches a minute on this link: try again in {wait} s",
                                       headers={"Retry-After": str(wait)})
    try:
        await asyncio.to_thread(ShareLinks.check_password, link,
                                presented_password(sent or ""))
    except (ShareLinkError, UnicodeDecodeError) as exc:
        raise NotFoundException(str(exc) if isinstance(exc, ShareLinkError) else
                                "X-Share-Password: UTF-8'' followed by the password's UTF-8 bytes, percent-encoded") from None


class GuestController(Controller):
    """What a guest with a share link may do: search by selfie, and see and download what it found."""

    path = "/share/{token:str}"

    @get("/about", description="What the guest's page shows before a search: whether the link needs a password, "
         "when it expires (\"\" never) and whether it is to a whole project, one event or an album. With an "
         "`X-Share-Password` header the password is checked too (a wrong one answers 404; it counts as a search "
         "against the rate limit), so a guest learns of a mistyped password before taking a selfie.")
    async def about(self, token: str, request: Request,
                    password: Annotated[str | None, PASSWORD] = None) -> schemas.GuestLink:
        link = await _open(request, token)
        if password is not None:
            await _check_password(request, link, password)
        scope = "album" if link.album else "event" if link.event_id else "project"
        return schemas.typed({"has_password": bool(link.password), "expires_at": link.expires_at, "scope": scope},
                             schemas.GuestLink)

    @post("/search", status_code=200, description="One selfie (multipart) in; the photos its person is in out, "
          "each with its signed thumbnail, large and download URLs. The selfie is not kept.")
    async def search(self, token: str, request: Request, runtime: Runtime,
                     password: Annotated[str | None, PASSWORD] = None) -> schemas.GuestAnswer:
        link = await _open(request, token)
        await _check_password(request, link, password)
        files = await multipart_files(request)
        if len(files) != 1:
            raise ValueError(f"send exactly one selfie as a multipart file, not {len(files)} files")
        content, name = await files[0].read(), files[0].filename or "selfie"

        def run() -> list[str]:
            query = search_service.selfie_embedding(runtime, content, name)
            found = [m.photo_id for m in search_service.search_project(runtime, link.project, query)]
            if link.event_id:
                at_event = {p.photo_id for p in runtime.graph.event_photos(link.project, link.event_id)}
                found = [p for p in found if p in at_event]
            if link.album:
                in_album = set(link.album)
                found = [p for p in found if p in in_album]
            return list(dict.fromkeys(found))

        photo_ids = await asyncio.to_thread(run)
        links = share_links(runtime)
        base = f"/share/{token}/photos"
        photos = []
        for photo_id in photo_ids:
            signed = f"{base}/{photo_id}/{links.signature(token, photo_id)}"
            photos.append({"thumbnail": f"{signed}/thumbnail?side={THUMBNAIL_SIDES[0]}",
                           "large": f"{signed}/thumbnail?side={THUMBNAIL_SIDES[-1]}", "download": f"{signed}/original"})
        message = "" if photos else "nobody in these photos looks like the person in the selfie"
        return schemas.typed({"photos": photos, "message": message}, schemas.GuestAnswer)

    @post("/export", status_code=200, description="Download photos a search found as one zip (with a manifest of "
          "their files, sizes and times), streamed: `photos` lists each one's `<photo id>/<signature>` as its URLs "
          f"carry them (at most {MAX_EXPORT}).")
    async def export(self, token: str, data: GuestExport, request: Request, runtime: Runtime) -> Stream:
        link = await _open(request, token)
        if not 0 < len(data.photos) <= MAX_EXPORT:
            raise ValueError(f"photos: between 1 and {MAX_EXPORT} `<photo id>/<signature>` entries")
        links = share_links(runtime)
        wanted = [entry.partition("/") for entry in data.photos]
        if not all(links.signed(token, photo_id, signature) for photo_id, _, signature in wanted):
            raise NotFoundException("no such photo on this link")
        items = await asyncio.to_thread(export.photos, runtime, link.project, [photo_id for photo_id, _, _ in wanted])
        plan = await asyncio.to_thread(export.plan_zip, runtime, items, with_ids=False)
        return zip_response(runtime, plan, "photos.zip")

    async def _photo(self, request: Request, token: str, photo_id: str, signature: str) -> ShareLinkRecord:
        link = await _open(request, token)  # no password: the signature came from a search that gave it
        if not share_links(request.app.state.runtime).signed(token, photo_id, signature):
            raise NotFoundException("no such photo on this link")
        return link

    @get("/photos/{photo_id:str}/{signature:str}/thumbnail", description="A photo the guest's search found.")
    async def thumbnail(self, token: str, photo_id: str, signature: str, request: Request, runtime: Runtime,
                        side: int = THUMBNAIL_SIDES[0]) -> Response[bytes]:
        link = await self._photo(request, token, photo_id, signature)
        if side not in THUMBNAIL_SIDES:
            raise ValueError(f"side: {side} is not one of {', '.join(map(str, THUMBNAIL_SIDES))}")
        try:
            data = await asyncio.to_thread(photo_media.thumbnail, runtime, link.project, photo_id, side)
        except photo_media.PhotoNotFound:
            raise NotFoundException("this photo is not available any more") from None
        return Response(data, media_type="image/jpeg", headers={"Cache-Control": CACHE})

    @get("/photos/{photo_id:str}/{signature:str}/original", description="Download a photo the guest's search found.")
    async def original(self, token: str, photo_id: str, signature: str, request: Request, runtime: Runtime
                       ) -> Response[bytes]:
        link = await self._photo(request, token, photo_id, signature)
        try:
            data, kind, name = await asyncio.to_thread(photo_media.original, runtime, link.project, photo_id)
        except photo_media.PhotoNotFound:
            raise NotFoundException("this photo is not available any more") from None
        return Response(data, media_type=kind, headers={
            "Cache-Control": CACHE, "Content-Disposition": f"attachment; filename*=UTF-8''{quote(name)}"})
