"""`peoplegraph keys create|list|revoke`: the API keys of the data folder (peoplegraph.access.keys)."""

from __future__ import annotations

from dataclasses import asdict

import click

from peoplegraph.access.keys import ROLES, KeyService
from peoplegraph.cli.common import JSON_OPTION, Context, emit, fail_clearly


@click.group("keys")
def keys() -> None:
    """API keys: an admin key reaches every project; a project key is its owner, editor or viewer."""


@keys.command("create")
@click.option("--name", required=True, help="Who holds the key: the actor of every decision made with it.")
@click.option("--role", type=click.Choice(ROLES), required=True, help="admin (every project, no --project), or "
              "owner, editor, viewer of --project.")
@click.option("--project", "-p", default="", help="The project a key of a project role reaches.")
@JSON_OPTION
@click.pass_obj
@fail_clearly
def create(obj: Context, name: str, role: str, project: str, as_json: bool) -> None:
    """Make a key and print it once: only its hash is kept."""
    with obj.runtime() as runtime:
        issued = KeyService(runtime.graph).create(name, role, project)
    where = "every project" if role == "admin" else f"project {project!r}"
    emit(as_json, {**asdict(issued.record), "secret": issued.secret},
         f"{issued.secret}\n(key {issued.record.key_id}: {role} of {where}, named {name!r}; shown once, keep it)")


@keys.command("list")
@click.option("--project", "-p", default=None, help="Only this project's keys (\"\" for the admin keys).")
@JSON_OPTION
@click.pass_obj
@fail_clearly
def list_keys(obj: Context, project: str | None, as_json: bool) -> None:
    """The keys, revoked ones marked (never their secrets)."""
    with obj.runtime() as runtime:
        found = KeyService(runtime.graph).keys(project)
    lines = [f"{k.key_id}  {k.role:<7} {k.project or '(all projects)':<20} {k.name}  created {k.created_at}"
             + (f"  REVOKED {k.revoked_at}" if k.revoked_at else "") for k in found]
    emit(as_json, [asdict(k) for k in found], "\n".join(lines) or "no keys")


@keys.command("revoke")
@click.argument("key_id")
@JSON_OPTION
@click.pass_obj
@fail_clearly
def revoke(obj: Context, key_id: str, as_json: bool) -> None:
    """Revoke a key by its id (`keys list`): refused from the next request on."""
    with obj.runtime() as runtime:
        try:
            revoked = KeyService(runtime.graph).revoke(key_id)
        except KeyError as exc:
            raise click.ClickException(str(exc.args[0])) from None
    emit(as_json, asdict(revoked), f"key {key_id} ({revoked.name}) revoked at {revoked.revoked_at}")


COMMANDS = (keys,)
