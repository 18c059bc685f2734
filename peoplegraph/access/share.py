"""Share links: a guest with the link finds the photos they are in by a selfie, and nothing else.

A link is a 256-bit token (only its sha256 is stored), for a whole project or one event of it, with an
optional expiry and password (scrypt), revocable. A guest's search answers only the photos the selfie's person
is in, each with URLs signed for this link and this photo (HMAC with the data folder's share key), so a guest
can open and download those photos and no other; no names, people, clusters or face ids. The selfie is not
stored. Searches are rate-limited per link and per client (`RateLimits`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import math
import secrets
import threading
import time
from collections import deque
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from peoplegraph.access.keys import same_secret, secret_hash, server_secret
from peoplegraph.identity.records import ShareLinkRecord, now
from peoplegraph.identity.store import GraphStore
from peoplegraph.observations.model import validate_project_name

TOKEN_PREFIX = "pgs_"
TOKEN_BYTES = 32
SCRYPT = {"n": 2**14, "r": 8, "p": 1}
MIN_HOURS = 1 / 60
MAX_HOURS = 24 * 366
MAX_ALBUM = 5000  # photos one album link may hold


class ShareLinkError(LookupError):
    """Unknown, revoked or expired link, or a wrong password: the guest sees one message for all of them."""


@dataclass(frozen=True)
class IssuedLink:
    record: ShareLinkRecord
    token: str  # shown once


def _password_hash(password: str, salt: bytes | None = None) -> str:
    salt = salt or secrets.token_bytes(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, **SCRYPT)
    return f"scrypt${salt.hex()}${digest.hex()}"


def _password_ok(stored: str, given: str) -> bool:
    _, salt, _ = stored.split("$")
    return same_secret(_password_hash(given, bytes.fromhex(salt)), stored)


class ShareLinks:
    def __init__(self, graph: GraphStore, key_file: Path) -> None:
        self.graph = graph
        self._key_file = key_file

    def create(self, project: str, created_by: str, *, event_id: str = "", expires_in_hours: float | None = None,
               password: str = "", album: Sequence[str] | None = None) -> IssuedLink:
        """A link to the whole project, to one event of it, or to an album (these photos alone)."""
        if album is not None and not album:
            raise ValueError("album: name at least one photo (an empty album would be the whole project)")
        validate_project_name(project)
        if event_id and event_id not in {e.event_id for e in self.graph.events(project)}:
            raise ValueError(f"event_id: no event {event_id!r} in project {project!r}")
        album = tuple(dict.fromkeys(album or ()))
        if album and event_id:
            raise ValueError("album: a link is to an event or to an album of photos, not both")
        if len(album) > MAX_ALBUM:
            raise ValueError(f"album: at most {MAX_ALBUM} photos, got {len(album)}")
        missing = set(album) - {p.photo_id for p in self.graph.photos_by_id(project, list(album))}
        if missing:
            raise ValueError(f"album: no photo {sorted(missing)[0]!r} in project {project!r}"
                             + (f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""))
        expires = ""
        if expires_in_hours is not None:
            if not MIN_HOURS <= expires_in_hours <= MAX_HOURS:  # a link that is gone before it is sent is a typo
                raise ValueError(f"expires_in_hours: from 1/60 (a minute) to {MAX_HOURS}, got {expires_in_hours}")
            moment = dt.datetime.now(dt.timezone.utc) + dt.timedelta(hours=expires_in_hours)
            expires = moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")
        if password and len(password) > 200:
            raise ValueError("password: at most 200 characters")
        token = TOKEN_PREFIX + secrets.token_urlsafe(TOKEN_BYTES)
        digest = secret_hash(token)
        record = ShareLinkRecord(digest[:12], project, event_id, created_by, now(), expires,
                                 _password_hash(password) if password else "", album=album)
        self.graph.add_share_link(record, digest)
        return IssuedLink(record, token)

    def links(self, project: str) -> list[ShareLinkRecord]:
        return self.graph.share_links(project)

    def revoke(self, project: str, link_id: str) -> ShareLinkRecord:
        if not any(link.link_id == link_id for link in self.graph.share_links(project)):
            raise KeyError(f"no share link {link_id!r} in project {project!r}")
        self.graph.revoke_share_link(project, link_id, now())
        return next(link for link in self.graph.share_links(project) if link.link_id == link_id)

    def open(self, token: str) -> ShareLinkRecord:
        """The live link this token is; ShareLinkError otherwise."""
        link = self.graph.share_link(secret_hash(token)) if token.startswith(TOKEN_PREFIX) and len(token) < 200 else None
        if link is None or link.revoked_at or (link.expires_at and link.expires_at <= now()):
            raise ShareLinkError("this link does not work (unknown, revoked or expired): ask for a new one")
        return link

    @staticmethod
    def check_password(link: ShareLinkRecord, password: str) -> None:
        if link.password and not _password_ok(link.password, password):
            raise ShareLinkError("that is not the password of this link")

    # -- signed photo URLs -----------------------------------------------------------------------------

    def signature(self, token: str, photo_id: str) -> str:
        return hmac.new(self._key(), f"{secret_hash(token)}:{photo_id}".encode(), hashlib.sha256).hexdigest()[:32]

    def signed(self, token: str, photo_id: str, signature: str) -> bool:
        return same_secret(signature, self.signature(token, photo_id))

    def _key(self) -> bytes:
        return server_secret(self._key_file)


class RateLimits:
    """Sliding one-minute windows: at most `per_client` searches a minute from one client address on one link,
    and `per_link` on a link from everyone (a leaked link cannot be used to scan a crowd)."""

    def __init__(self, per_client: int, per_link: int) -> None:
        self.per_client, self.per_link = per_client, per_link
        self._seen: dict[tuple[str, str], deque[float]] = {}
        self._lock = threading.Lock()

    def wait_s(self, link_id: str, client: str) -> int:
        """0 when this search may be made (it is counted), else the whole seconds until one may."""
        moment = time.monotonic()
        with self._lock:
            for key, limit in (((link_id, client), self.per_client), ((link_id, ""), self.per_link)):
                window = self._seen.setdefault(key, deque())
                while window and window[0] <= moment - 60:
                    window.popleft()
                if len(window) >= limit:
                    return max(1, math.ceil(window[len(window) - limit] + 60 - moment))
            for key in ((link_id, client), (link_id, "")):
                self._seen[key].append(moment)
            return 0
