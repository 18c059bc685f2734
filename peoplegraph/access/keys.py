"""API keys: projects are access boundaries.

An admin key reaches every project and creates projects and keys. A project key has a role there: `owner`
(keys, deleting), `editor` (review, upload, edit people), `viewer` (read). A key is 256 random bits, shown
once when it is made and stored only as its sha256 (the secret has the entropy a slow hash would add, so a
fast one is enough), compared in constant time, named (the name is the actor of every decision the key
makes) and revocable. A key of another project is answered as if the project did not exist.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import unicodedata
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from peoplegraph.atomic import atomic_write
from peoplegraph.identity.records import ApiKeyRecord, now
from peoplegraph.identity.store import GraphStore
from peoplegraph.observations.model import validate_project_name

KEY_PREFIX = "pgk_"
SECRET_BYTES = 32
NAME_MAX_LENGTH = 100
ROLES = ("viewer", "editor", "owner", "admin")  # each may do what the ones before it may
PROJECT_ROLES = ROLES[:-1]


class Access(Enum):
    ALLOWED = "allowed"
    HIDDEN = "hidden"  # another project's: answered 404, as if it did not exist
    FORBIDDEN = "forbidden"  # this project's, but the role is too low: 403


@dataclass(frozen=True)
class IssuedKey:
    record: ApiKeyRecord
    secret: str  # shown once, never stored


def server_secret(path: Path) -> bytes:
    """The data folder's 256-bit secret kept in `path` (made on first use), for the HMACs this server signs
    with (share links' photo URLs, browser sessions)."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        atomic_write(path, secrets.token_bytes(32), mode=0o600)
    return path.read_bytes()


def same_secret(given: str, expected: str) -> bool:
    """Constant-time equality of a secret a client sent (any text: hmac refuses non-ASCII str) and ours."""
    return hmac.compare_digest(given.encode("utf-8", "surrogateescape"), expected.encode("utf-8", "surrogateescape"))


def secret_hash(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def access(key: ApiKeyRecord, project: str, role: str) -> Access:
    """Whether `key` may act as `role` on `project`."""
    if key.role == "admin":
        return Access.ALLOWED
    if key.project != project:
        return Access.HIDDEN
    return Access.ALLOWED if ROLES.index(key.role) >= ROLES.index(role) else Access.FORBIDDEN


def checked_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise ValueError("name: a key needs a name (who holds it: it is the actor of its decisions)")
    if len(name) > NAME_MAX_LENGTH:
        raise ValueError(f"name: at most {NAME_MAX_LENGTH} characters, got {len(name)}")
    if any(unicodedata.category(c)[0] == "C" for c in name):
        raise ValueError("name: control and format characters are not allowed")
    return name


class KeyService:
    def __init__(self, graph: GraphStore) -> None:
        self.graph = graph

    def create(self, name: str, role: str, project: str = "") -> IssuedKey:
        """A new key: `role` admin with no project, or a project role on an existing project."""
        name = checked_name(name)
        if role == "admin":
            if project:
                raise ValueError("project: an admin key reaches every project; give no project")
        elif role in PROJECT_ROLES:
            if not project:
                raise ValueError(f"project: a key of role {role} is a project's: name the project (--project)")
            validate_project_name(project)
            if project not in self.graph.projects():
                raise ValueError(f"project: no project {project!r} (an admin creates it first)")
        else:
            raise ValueError(f"role: {role!r} is not one of {', '.join(ROLES)}")
        if any(k.name == name and not k.revoked_at for k in self.graph.api_keys(project)):
            holder = "an admin key" if not project else f"a key of project {project!r}"
            raise ValueError(f"name: {holder} is named {name!r} already (names are the actors of decisions: keep "
                             "them apart)")
        secret = KEY_PREFIX + secrets.token_urlsafe(SECRET_BYTES)
        digest = secret_hash(secret)
        record = ApiKeyRecord(key_id=digest[:12], name=name, project=project, role=role, created_at=now())
        self.graph.add_api_key(record, digest)
        return IssuedKey(record, secret)

    def reissue(self, name: str, role: str, project: str = "") -> IssuedKey:
        """A new key under `name`, the live key of that name (if any) revoked: its secret was shown once."""
        for key in self.graph.api_keys(project):
            if key.name == name and not key.revoked_at:
                self.revoke(key.key_id, project)
        return self.create(name, role, project)

    def keys(self, project: str | None = None) -> list[ApiKeyRecord]:
        return self.graph.api_keys(project)

    def revoke(self, key_id: str, project: str | None = None) -> ApiKeyRecord:
        """Revoke a key (of `project` only, when given); an unknown key id is a ValueError."""
        found = [k for k in self.graph.api_keys(project) if k.key_id == key_id]
        if not found:
            raise KeyError(f"no key {key_id!r}" + (f" in project {project!r}" if project else ""))
        self.graph.revoke_api_key(key_id, now())
        return next(k for k in self.graph.api_keys(found[0].project) if k.key_id == key_id)

    def authenticate(self, secret: str) -> ApiKeyRecord | None:
        """The live key this secret is, else None."""
        key_id = self.key_id_of(secret)
        return None if key_id is None else self.verified(secret, self.graph.api_key(key_id))

    @staticmethod
    def key_id_of(secret: str) -> str | None:
        """The id of the key a secret would be (the id selects, the whole hash verifies); None for what is no
        key's shape."""
        if not secret.startswith(KEY_PREFIX) or len(secret) > 200:
            return None
        return secret_hash(secret)[:12]

    @staticmethod
    def verified(secret: str, found: tuple[ApiKeyRecord, str] | None) -> ApiKeyRecord | None:
        """The key found under the secret's id (`GraphStore.api_key`) when the secret is its secret and it is
        live, else None."""
        if found is None or not hmac.compare_digest(found[1], secret_hash(secret)) or found[0].revoked_at:
            return None
        return found[0]

    def first_admin_key(self) -> IssuedKey | None:
        """An admin key when there is no live one (a new data folder's first `serve`), else None."""
        if any(not k.revoked_at for k in self.graph.api_keys("")):
            return None
        return self.create("admin", "admin")
