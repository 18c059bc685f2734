"""What every `peoplegraph` command shares: the settings context, the common options, output and errors."""

from __future__ import annotations

import contextlib
import functools
import getpass
import json
import os
from collections.abc import Callable
from contextlib import AbstractContextManager
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.linking.service import LinkingResult
from peoplegraph.observations.model import checked_id
from peoplegraph.observations.store import StoreBusyError
from peoplegraph.services.clustering import ClusteringReport
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

FRIENDLY_ERRORS = (ModelPackError, StoreBusyError, ValueError, OSError)


def settings_options(command: click.Command) -> click.Command:
    """One global flag per settings field, typed and documented from the settings object itself."""
    for name, field in reversed(Settings.model_fields.items()):
        flag = "--" + name.replace("_", "-")
        help_text = f"{field.description} [env: PEOPLEGRAPH_{name.upper()}]"
        command = click.option(flag, name, default=None, help=help_text, show_default=False)(command)
    return command


ENV_PREFIX = "PEOPLEGRAPH_"
# settings naming a file or folder (or a store that may be one): typed relative to the folder of whoever typed them
PATH_SETTINGS = ("data_dir", "model_dir", "face_index_dir", "media_key_file", "model_source", "milvus_uri", "graph_uri")


def settings_environment(environment: dict[str, str]) -> dict[str, str]:
    """The settings a client's PEOPLEGRAPH_* variables give, by field (others are not settings; names in any
    case, as the settings read them)."""
    return {name[len(ENV_PREFIX):].lower(): value for name, value in environment.items()
            if name.upper().startswith(ENV_PREFIX) and name[len(ENV_PREFIX):].lower() in Settings.model_fields}


def _in_folder(value: Any, cwd: Path) -> Any:
    """A path setting typed in `cwd` (a client's folder), made absolute there; a URL or an absolute path as it is."""
    text = str(value)
    if not text or "://" in text or os.path.isabs(os.path.expanduser(text)):
        return value
    return str(cwd / text)


class Context:
    """What a command runs with: the settings (flags over environment), and, when a running server runs it
    for a client (cli/through_server.py), the server's open stores, the client's user, folder and settings
    variables (`environment`, by field)."""

    def __init__(self, overrides: dict[str, Any], *, shared: Runtime | None = None, actor: str | None = None,
                 cwd: Path | None = None, environment: dict[str, str] | None = None) -> None:
        self.overrides = {k: v for k, v in overrides.items() if v is not None}
        self.shared, self.actor, self.cwd = shared, actor, cwd
        self.environment = environment or {}

    def settings(self) -> Settings:
        given = {**self.environment, **self.overrides}
        if self.cwd is not None:  # run by a server for a client: relative paths are the client's
            given = {k: _in_folder(v, self.cwd) if k in PATH_SETTINGS and v is not None else v
                     for k, v in given.items()}
        try:
            return Settings(**given)
        except ValidationError as exc:
            problems = "; ".join(
                (f"{'/'.join(str(p) for p in e['loc'])}: " if e["loc"] else "") + e["msg"].removeprefix("Value error, ")
                for e in exc.errors()
            )
            raise click.UsageError(f"invalid setting: {problems}") from None

    def runtime(self) -> AbstractContextManager[Runtime]:
        """The stores to run on (a `with` block): this process's own, or the server's, left open after."""
        return contextlib.nullcontext(self.shared) if self.shared is not None else Runtime(self.settings())


class IdOf(click.ParamType):
    """A face, body or cluster id typed on the command line: a whole number from 0 to 2^63-1, as the API
    takes it (a larger one would overflow the stores' 64-bit columns)."""

    name = "id"

    def __init__(self, what: str) -> None:
        self.what = what

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> int:
        try:
            return checked_id(value, param.name if param is not None and param.name else "id", self.what)
        except ValueError as exc:
            self.fail(str(exc), param, ctx)


class LocalPath(click.Path):
    """A path typed on the command line: relative to the folder it was typed in, the client's when a server
    runs the command."""

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> Any:
        if isinstance(value, str) and not value.strip():  # an unset "$DIR" in a script: never the whole folder
            self.fail("an empty path", param, ctx)
        obj = ctx.find_object(Context) if ctx is not None else None
        if obj is not None and obj.cwd is not None and isinstance(value, str) and not os.path.isabs(value):
            value = os.path.join(obj.cwd, value)
        return super().convert(value, param, ctx)


def _default_actor() -> str:
    """The user who typed the command (the client's, when a server runs it)."""
    ctx = click.get_current_context(silent=True)
    obj = ctx.find_object(Context) if ctx is not None else None
    return obj.actor if obj is not None and obj.actor else getpass.getuser()


PROJECT_OPTION = click.option("--project", "-p", required=True, help="The project (library).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def fail_clearly(func):
    """Known failures (bad project name, model pack missing, store busy) print one line, not a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FRIENDLY_ERRORS as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


def emit(as_json: bool, payload: Any, text: str) -> None:
    click.echo(json.dumps(payload, indent=2) if as_json else text)


def clustering_text(report: ClusteringReport) -> str:
    return (
        f"clusters: {report.clusters} ({report.clustered_faces} of {report.faces} faces clustered, "
        f"{report.unclustered_faces} unclustered; similarity >= {report.similarity:.3f}, "
        f"min size {report.min_cluster_size})"
    )


ACTOR_OPTION = click.option("--actor", default=_default_actor, show_default="your user name",
                            help="Who decides (recorded with every decision).")


def project_command(*, actor: bool = False) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """What a command on one project wears: --project, --actor (for commands that decide), --json, the
    settings context, and one-line errors."""

    def wear(func: Callable[..., Any]) -> Callable[..., Any]:
        func = click.pass_obj(fail_clearly(func))
        for option in (JSON_OPTION, *([ACTOR_OPTION] if actor else []), PROJECT_OPTION):
            func = option(func)
        return func

    return wear


def link(obj: Context, as_json: bool, action: Callable[..., LinkingResult], *args: Any, **kwargs: Any) -> None:
    """Run one linking action on the project's stores and print what it did."""
    with obj.runtime() as runtime:
        result = action(runtime, *args, **kwargs)
    emit(as_json, result.to_dict(), linking_text(result))


def linking_text(result: LinkingResult) -> str:
    person = f" as {result.person_id}" if result.person_id else ""
    if result.clustering is None:
        return f"{result.action}: {len(result.bodies)} body(ies){person}"
    return f"{result.action}: {len(result.faces)} face(s){person}\n{clustering_text(result.clustering)}"


def clusters_table(found: list) -> str:
    if not found:
        return "no clusters (run `peoplegraph cluster`)"
    rows = [f"{'id':>5} {'faces':>6} {'photos':>6} {'conf':>5}  representative (photo, box)"]
    for c in found:
        box = ",".join(f"{v:.0f}" for v in c.representative_box)
        rows.append(f"{c.cluster_id:>5} {c.size:>6} {len(c.photo_ids):>6} {100 * c.mean_confidence:>5.1f}  "
                    f"{c.representative_photo_id[:12]} [{box}]")
    return "\n".join(rows)
