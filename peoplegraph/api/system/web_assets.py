"""The API's browser pages without a CDN: Swagger UI (`/schema/swagger`) and GraphiQL (`/graphiql`) load their
scripts from this server, which keeps pinned copies of their npm packages in `peoplegraph/api/static/vendor`.

`python -m peoplegraph.api.system.web_assets` (run by scripts/setup.sh) fetches them once from the npm registry,
each tarball checked against the integrity (sha512) the registry published for it, and unpacks only the files
the pages use. Without them the pages say how to fetch them; the API itself needs none of this.
"""

from __future__ import annotations

import base64
import hashlib
import io
import sys
import tarfile
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from litestar import Controller, MediaType, Response, get
from litestar.datastructures import CacheControlHeader
from litestar.openapi.plugins import SwaggerRenderPlugin
from litestar.static_files import create_static_files_router

VENDOR = Path(__file__).resolve().parents[1] / "static" / "vendor"
REGISTRY = "https://registry.npmjs.org"
TIMEOUT_S = 60


@dataclass(frozen=True)
class NpmPackage:
    name: str
    version: str
    integrity: str  # as the registry publishes it: "sha512-" + base64
    files: tuple[str, ...]  # inside the tarball's package/ folder; kept under VENDOR by their base names

    @property
    def tarball(self) -> str:
        return f"{REGISTRY}/{self.name}/-/{self.name}-{self.version}.tgz"


PACKAGES = (
    NpmPackage("swagger-ui-dist", "5.18.2",  # Apache-2.0; the version litestar's Swagger plugin expects
               "sha512-J+y4mCw/zXh1FOj5wGJvnAajq6XgHOyywsa9yITmwxIlJbMqITq3gYRZHaeqLVH/eV/HOPphE6NjF+nbSNC5Zw==",
               ("swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "swagger-ui.css")),
    NpmPackage("graphiql", "3.8.3",  # MIT; its UMD build wants React 18 as globals
               "sha512-cuPDYtXVKV86Pu5PHBX642Odi/uVEE2y1Jxq5rGO/Qy1G2lRp7ZZ7a/T30RzxhuLSWo9zUbzq0P3U49//H0Ugw==",
               ("graphiql.min.js", "graphiql.min.css")),
    NpmPackage("react", "18.3.1",
               "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
               ("umd/react.production.min.js",)),
    NpmPackage("react-dom", "18.3.1",
               "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
               ("umd/react-dom.production.min.js",)),
)
ASSET_URL = "/static/vendor"


def missing() -> list[str]:
    """The asset files not yet fetched."""
    return [Path(f).name for p in PACKAGES for f in p.files if not (VENDOR / Path(f).name).is_file()]


def fetch(package: NpmPackage, folder: Path = VENDOR) -> None:
    """Download the package's tarball, check it, and keep its files (each written whole or not at all)."""
    with urllib.request.urlopen(package.tarball, timeout=TIMEOUT_S) as answer:
        data = answer.read()
    algorithm, _, expected = package.integrity.partition("-")
    if base64.b64encode(hashlib.new(algorithm, data).digest()).decode() != expected:
        raise ValueError(f"{package.tarball}: its {algorithm} is not the pinned integrity {package.integrity}")
    folder.mkdir(parents=True, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as archive:
        for name in package.files:
            member = archive.extractfile(f"package/{name}")
            if member is None:
                raise ValueError(f"{package.tarball} has no file {name}")
            target = folder / Path(name).name
            partial = target.with_suffix(target.suffix + ".partial")
            partial.write_bytes(member.read())
            partial.replace(target)


def main() -> int:
    for package in PACKAGES:
        if all((VENDOR / Path(f).name).is_file() for f in package.files):
            continue
        try:
            fetch(package)
        except (OSError, ValueError) as exc:
            print(f"peoplegraph: could not fetch {package.name} {package.version} ({exc}); Swagger UI and GraphiQL "
                  "need it, the API does not", file=sys.stderr)
            return 1
        print(f"peoplegraph: fetched {package.name} {package.version} for the API's browser pages")
    return 0


if __name__ == "__main__":
    sys.exit(main())


GRAPHIQL_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>peoplegraph GraphiQL</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="stylesheet" href="{assets}/graphiql.min.css">
<style>html, body, #graphiql {{ height: 100%; margin: 0; }}</style></head>
<body><div id="graphiql">Loading GraphiQL...</div>
<script src="{assets}/react.production.min.js"></script>
<script src="{assets}/react-dom.production.min.js"></script>
<script src="{assets}/graphiql.min.js"></script>
<script>
  // the key goes in the Headers tab: {{"Authorization": "Bearer pgk_..."}} (kept in this browser's storage)
  const fetcher = GraphiQL.createFetcher({{ url: "/graphql" }});
  ReactDOM.createRoot(document.getElementById("graphiql")).render(React.createElement(GraphiQL, {{
    fetcher, isHeadersEditorEnabled: true, shouldPersistHeaders: true,
    defaultHeaders: '{{"Authorization": "Bearer <your key>"}}',
  }}));
</script></body></html>
"""
MISSING_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>peoplegraph: {page}</title></head>
<body><h1>{page} is not installed here</h1>
<p>Its scripts are served by this server, not a CDN, and have not been fetched yet ({files} missing). Run
<code>.venv/bin/python -m peoplegraph.api.system.web_assets</code> (scripts/setup.sh does) and reload. The API itself
works without them: <a href="/schema/openapi.json">/schema/openapi.json</a>, POST /graphql.</p></body></html>
"""


class GraphiQLController(Controller):
    path = "/graphiql"

    @get("/", media_type=MediaType.HTML, include_in_schema=False)
    async def page(self) -> Response[str]:
        absent = [f for f in missing() if f.startswith(("graphiql", "react"))]
        if absent:
            return Response(MISSING_PAGE.format(page="GraphiQL", files=", ".join(absent)), media_type=MediaType.HTML,
                            status_code=503)
        return Response(GRAPHIQL_PAGE.format(assets=ASSET_URL), media_type=MediaType.HTML,
                        headers={"Cache-Control": "no-cache"})


def swagger_plugin() -> SwaggerRenderPlugin:
    """Swagger UI at /schema/swagger, its scripts from this server."""
    return SwaggerRenderPlugin(js_url=f"{ASSET_URL}/swagger-ui-bundle.js", css_url=f"{ASSET_URL}/swagger-ui.css",
                               standalone_preset_js_url=f"{ASSET_URL}/swagger-ui-standalone-preset.js",
                               path="/swagger")


def static_files():
    """The vendored scripts, under /static/vendor, cached a day (their names carry no version)."""
    VENDOR.mkdir(parents=True, exist_ok=True)
    return create_static_files_router(path="/static", directories=[VENDOR.parent], cache_control=CacheControlHeader(
        max_age=86400), include_in_schema=False)
