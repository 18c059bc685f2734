"""The Litestar application and its lifespan: stores, job queue and (by default) an in-process worker."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from arq import create_pool
from arq.connections import ArqRedis
from litestar import Litestar
from litestar.datastructures import State
from litestar.di import Provide
from litestar.openapi import OpenAPIConfig
from litestar.openapi.spec import Components, SecurityScheme
from strawberry.litestar import make_graphql_controller

from peoplegraph import __version__
from peoplegraph.access.share import RateLimits
from peoplegraph.api.access import authentication, first_admin_key
from peoplegraph.api.graph_reads import graph_reads
from peoplegraph.api.errors import EXCEPTION_HANDLERS
from peoplegraph.api.json_bodies import strict_json_body
from peoplegraph.api.bodies.controllers import BodyController
from peoplegraph.api.jobs.controllers import JobController
from peoplegraph.api.photos.controllers import PhotoController
from peoplegraph.api.photos.media import MediaController
from peoplegraph.api.projects.controllers import ProjectController
from peoplegraph.api.projects.sessions import SessionController
from peoplegraph.api.review.controllers import ReviewController
from peoplegraph.api.share.controllers import GuestController, ShareLinkController
from peoplegraph.api.system.command_line import CommandLineController
from peoplegraph.api.system.controllers import HealthController
from peoplegraph.api.system.web_assets import GraphiQLController, static_files, swagger_plugin
from peoplegraph.api.ui.controllers import EditorPageController, GuestPageController
from peoplegraph.cli import through_server
from peoplegraph.graphql.schema import build_schema
from peoplegraph.services.runtime import Runtime, face_index_warming
from peoplegraph.settings import Settings
from peoplegraph.workers.queue import queue_redis
from peoplegraph.workers.runner import build_worker


def create_app(settings: Settings, *, in_process_worker: bool = True, url: str | None = None) -> Litestar:
    """`in_process_worker`: run the ARQ worker inside the API process (required with milvus-lite,
    which one process at a time may open); with Milvus and Neo4j servers, run `peoplegraph worker`s instead.
    `url`: where the server listens, announced to the command line (`peoplegraph serve`)."""

    @contextlib.asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        with Runtime(settings) as runtime, queue_redis(settings) as redis_settings:
            await asyncio.to_thread(lambda: (runtime.vectors, runtime.graph))  # open stores, prepare the pack
            app.state.first_admin_key = await asyncio.to_thread(first_admin_key, runtime)
            app.state.share_limits = RateLimits(settings.share_searches_per_client, settings.share_searches_per_link)
            app.state.local_server = None if url is None else through_server.announce(settings.data_dir, url)
            with face_index_warming(runtime):  # leaving it waits (shutdown) for the project being loaded
                queue = await create_pool(redis_settings)
                app.state.runtime = runtime
                app.state.queue = queue
                app.state.graph_reads = graph_reads(runtime.graph)  # its async driver made in this loop
                worker = build_worker(runtime, redis_settings, in_process=True) if in_process_worker else None
                worker_task = asyncio.create_task(worker.async_run()) if worker else None
                try:
                    yield
                finally:
                    if worker is not None and worker_task is not None:
                        await worker.close()
                        worker_task.cancel()
                        with contextlib.suppress(asyncio.CancelledError):
                            await worker_task
                    await queue.aclose()
                    await app.state.graph_reads.close()
                    if app.state.local_server is not None:
                        through_server.withdraw(settings.data_dir, app.state.local_server)

    def provide_runtime(state: State) -> Runtime:
        return state.runtime

    def provide_queue(state: State) -> ArqRedis:
        return state.queue

    graphql = make_graphql_controller(build_schema(settings), path="/graphql", graphql_ide=None)  # /graphiql
    graphql.request_max_body_size = settings.graphql_max_query_bytes  # a 10 MB query is refused (413)
    return Litestar(
        route_handlers=[HealthController, ProjectController, PhotoController, ReviewController, BodyController, MediaController,
                        ShareLinkController, GuestController, JobController, SessionController, CommandLineController, graphql,
                        GraphiQLController, EditorPageController, GuestPageController, static_files()],
        middleware=[authentication()],
        before_request=strict_json_body,
        lifespan=[lifespan],
        dependencies={
            "runtime": Provide(provide_runtime, sync_to_thread=False),
            "queue": Provide(provide_queue, sync_to_thread=False),
        },
        exception_handlers=EXCEPTION_HANDLERS,
        openapi_config=OpenAPIConfig(title="peoplegraph", version=__version__,
                                     description="Find, group and name the people in large photo libraries.",
                                     render_plugins=[swagger_plugin()],
                                     components=Components(security_schemes={"key": SecurityScheme(
                                         type="http", scheme="bearer", description="An API key (`peoplegraph keys "
                                         "create`, or the admin key the first `serve` printed)")}),
                                     security=[{"key": []}]),
        request_max_body_size=settings.max_upload_bytes,
    )
