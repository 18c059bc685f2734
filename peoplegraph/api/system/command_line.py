"""`POST /cli`: the command line of this machine, run in the server that holds the data folder
(peoplegraph/cli/through_server.py). Only the server's own local token reaches it, never a key: the command
reads and writes the server's files."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from litestar import Controller, Request, post
from litestar.exceptions import PermissionDeniedException

from peoplegraph.api.schemas import Body
from peoplegraph.api.access import LOCAL_KEY_ID
from peoplegraph.cli.common import Context, settings_environment
from peoplegraph.cli.through_server import run_here


class CommandLine(Body):
    argv: list[str]
    cwd: str
    user: str
    environment: dict[str, str] = {}  # the client's PEOPLEGRAPH_* variables: refused where they differ


class CommandLineController(Controller):
    path = "/cli"

    @post("/", status_code=200, include_in_schema=False)
    async def run(self, data: CommandLine, request: Request) -> dict[str, Any]:
        if request.user.key_id != LOCAL_KEY_ID:
            raise PermissionDeniedException("only the command line of this machine (the server's local token) "
                                            "may run commands here")
        from peoplegraph.cli.main import main

        obj = Context({}, shared=request.app.state.runtime, actor=data.user or None, cwd=Path(data.cwd),
                      environment=settings_environment(data.environment))
        code, out, err = await asyncio.to_thread(run_here, main, data.argv, obj)
        return {"code": code, "stdout": out, "stderr": err}
