"""Browser sessions, for the web UI: a key signs in once, and the browser then holds a session cookie that names
the key without being it.

The cookie is HttpOnly and SameSite=Strict (a page of another site never gets it sent), and a write made with
it must also carry the session's CSRF token in the `X-CSRF-Token` header, which only a page of this server
can read (it is answered by the sign-in and by GET /session). A session is `key id . expiry . HMAC` signed with
the data folder's session key: nothing is stored server-side, and revoking the key ends its sessions at once.
API clients keep sending the key itself in a header; a cookie is never a key.
"""

from __future__ import annotations

import hashlib
import hmac
import time
from dataclasses import dataclass
from pathlib import Path

from peoplegraph.access.keys import KeyService, same_secret, server_secret
from peoplegraph.identity.records import ApiKeyRecord
from peoplegraph.identity.store import GraphStore

COOKIE = "pg_session"
CSRF_HEADER = "x-csrf-token"


@dataclass(frozen=True)
class Session:
    key: ApiKeyRecord
    token: str  # the cookie's value
    csrf: str
    expires: int  # Unix seconds


class Sessions:
    def __init__(self, graph: GraphStore, key_file: Path, lifetime_s: float) -> None:
        self.graph = graph
        self._key_file = key_file
        self.lifetime_s = lifetime_s

    def sign_in(self, secret: str) -> Session | None:
        """A new session for this key's secret; None when it is no live key."""
        key = KeyService(self.graph).authenticate(secret)
        if key is None:
            return None
        expires = int(time.time() + self.lifetime_s)
        body = f"{key.key_id}.{expires}"
        token = f"{body}.{self._mac('session', body)}"
        return Session(key, token, self._mac("csrf", token), expires)

    def resume(self, token: str) -> Session | None:
        """The session this cookie value is, while it has not expired and its key is live; else None."""
        key_id = self.key_id_of(token)
        return None if key_id is None else self.resumed(token, self.graph.api_key(key_id))

    def key_id_of(self, token: str) -> str | None:
        """The key a cookie value names, when it is a session this server signed and has not expired."""
        key_id, _, rest = token.partition(".")
        expires, _, mac = rest.partition(".")
        if not (key_id and expires.isdigit() and mac) or int(expires) < time.time():
            return None
        if not same_secret(mac, self._mac("session", f"{key_id}.{expires}")):
            return None
        return key_id

    def resumed(self, token: str, found: tuple[ApiKeyRecord, str] | None) -> Session | None:
        """The session of a cookie value `key_id_of` accepted, given its key (`GraphStore.api_key`): None when
        the key is gone or revoked."""
        if found is None or found[0].revoked_at:
            return None
        return Session(found[0], token, self._mac("csrf", token), int(token.split(".")[1]))

    @staticmethod
    def csrf_ok(session: Session, sent: str) -> bool:
        return bool(sent) and same_secret(sent, session.csrf)

    def _mac(self, purpose: str, text: str) -> str:
        return hmac.new(server_secret(self._key_file), f"{purpose}:{text}".encode(), hashlib.sha256).hexdigest()
