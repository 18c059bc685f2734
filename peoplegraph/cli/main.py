"""The `peoplegraph` command. Every setting is also a global flag: `--data-dir` <-> PEOPLEGRAPH_DATA_DIR."""

from __future__ import annotations

import contextlib
import getpass
import math
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from tqdm import tqdm

from peoplegraph.cli import backup as cli_backup
from peoplegraph.cli import folders as cli_folders
from peoplegraph.cli import keys as cli_keys
from peoplegraph.cli import linking as cli_linking
from peoplegraph.cli import media as cli_media
from peoplegraph.cli import through_server
from peoplegraph.cli import reid as cli_reid
from peoplegraph.cli import xmp as cli_xmp
from peoplegraph.cli.common import (
    ACTOR_OPTION, ENV_PREFIX, JSON_OPTION, PATH_SETTINGS, PROJECT_OPTION, Context, LocalPath, clustering_text,
    clusters_table, emit, fail_clearly, project_command, settings_options,
)
from peoplegraph.access.keys import KeyService
from peoplegraph.linking.bodies import match_bodies
from peoplegraph.linking.matching import match_new_faces
from peoplegraph.services import catalog
from peoplegraph.services.clustering import MODES, cluster_new_faces, cluster_project
from peoplegraph.services.ingest import NO_SUCH_PATH, IngestReport, IngestService, collect_sources
from peoplegraph.services.reembed import SwitchReport, switch_face_model
from peoplegraph.services.runtime import Runtime, face_index_warming
from peoplegraph.services.xmp import import_people


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@settings_options
@click.pass_context
def main(ctx: click.Context, **overrides: Any) -> None:
    """Find, group and name the people in large photo libraries."""
    held = ctx.obj if isinstance(ctx.obj, Context) else None  # a server running a client's command
    if held is not None:
        ctx.obj = Context(overrides, shared=held.shared, actor=held.actor, cwd=held.cwd, environment=held.environment)
        refuse_other_settings(ctx.obj)
        return
    ctx.obj = Context(overrides)
    if ctx.resilient_parsing or ctx.invoked_subcommand in (None, *through_server.ON_THEIR_OWN):
        return
    server = through_server.running_server(ctx.obj.settings().data_dir)
    if server is None:
        return
    if ctx.invoked_subcommand in through_server.NOT_THROUGH_SERVER:
        raise click.ClickException(f"`peoplegraph serve` (process {server.pid}, {server.url}) holds this data "
                                   f"folder: `{ctx.invoked_subcommand}` needs it alone, stop the server first")
    ctx.exit(through_server.forward(server, sys.argv[1:], getpass.getuser()))  # it holds the stores: it runs it


for command in (*cli_linking.GROUPS, *cli_backup.COMMANDS, *cli_keys.COMMANDS, *cli_media.COMMANDS,
                *cli_folders.COMMANDS, *cli_xmp.COMMANDS, *cli_reid.COMMANDS):
    main.add_command(command)


PACK_DEFAULTS = ("detection_threshold", "cluster_similarity", "auto_threshold", "review_threshold", "search_similarity")
RESOLVED = {"model_dir": "models_path", "milvus_uri": "milvus_target", "graph_uri": "graph_target"}  # None: in data_dir
# settings of a process, not of what a command does on the server's stores (each process its own face index)
PER_PROCESS = ("host", "port", "redis_url", "warm_face_index", "worker_concurrency", "threads", "face_index_dir",
               "session_hours", "max_upload_bytes", "graphql_max_depth", "graphql_max_aliases", "graphql_max_tokens",
               "graphql_time_budget_s", "graphql_max_query_bytes", "share_searches_per_client",
               "share_searches_per_link")


def refuse_other_settings(obj: Context) -> None:
    """A command `serve` runs for a client runs on the server's stores and settings: a setting given on the
    command line that differs from the server's would be silently ignored, so it is refused, named."""
    assert obj.shared is not None
    runtime, server, asked = obj.shared, obj.shared.settings, obj.settings()

    def same(name: str) -> bool:  # as the server runs with it: a default the pack or the data folder gives counts
        if name in PACK_DEFAULTS:
            mine = getattr(asked, name)
            return mine is None or math.isclose(mine, getattr(runtime, name), abs_tol=1e-9)
        mine, theirs = getattr(asked, RESOLVED.get(name, name)), getattr(server, RESOLVED.get(name, name))
        if name in PATH_SETTINGS and mine and theirs and "://" not in f"{mine}{theirs}":
            return Path(mine).resolve() == Path(theirs).resolve()  # made absolute in the client's folder
        return (mine or None) == (theirs or None)  # "" and None both leave a setting unset

    differing = sorted(name for name in {**obj.environment, **obj.overrides} if name not in PER_PROCESS
                       and not same(name))
    if differing:
        given = ", ".join(f"--{name.replace('_', '-')}" if name in obj.overrides else f"{ENV_PREFIX}{name.upper()}"
                          for name in differing)
        raise click.UsageError(f"{given}: `peoplegraph serve` holds this data folder and runs this command with its "
                               "own settings; set them where the server starts (its flags or PEOPLEGRAPH_* "
                               "variables), or stop the server to run the command on its own")


def _ingest_text(report: IngestReport, bodies: bool = False) -> str:
    lines = [
        f"photos seen: {report.photos}",
        f"new photos:  {report.new_photos}",
        f"faces found: {report.faces}",
        *([f"bodies found: {report.bodies}"] if bodies else []),
        f"skipped:     {len(report.skipped)}",
    ]
    lines += [f"  {s.path}: {s.reason}" for s in report.skipped]
    if report.moved:
        lines += [f"moved:       {len(report.moved)} (found where they are now; recorded there)",
                  *(f"  {m}" for m in report.moved)]
    if report.notes:
        lines += [f"notes:       {len(report.notes)}", *(f"  {n.path}: {n.note}" for n in report.notes)]
    return "\n".join(lines)


@contextlib.contextmanager
def _ingest_progress(total: int) -> Iterator[Callable[[IngestReport, int], None]]:
    """A progress bar on stderr (stdout stays clean for --json) and the ingest callback that moves it."""
    with tqdm(total=total, unit="photo", desc="ingest", file=sys.stderr, dynamic_ncols=True) as bar:

        def progress(current: IngestReport, _total: int) -> None:
            bar.update(current.processed - bar.n)
            bar.set_postfix(faces=current.faces, skipped=len(current.skipped), refresh=False)

        yield progress


def _mistyped(report: IngestReport) -> str:
    """The paths named to ingest that are not there, as a message names them ("" for none)."""
    return ", ".join(s.path for s in report.skipped if s.reason == NO_SUCH_PATH)


def _run_ingest(runtime: Runtime, project: str, paths: list[Path], read_metadata: bool = False) -> IngestReport:
    report = IngestReport()
    sources = collect_sources(paths, report)
    if not sources and _mistyped(report):  # a typo: nothing ingested, and no project made for it
        raise click.ClickException(f"{_mistyped(report)}: no such file or folder; nothing was ingested")
    with _ingest_progress(len(sources) + len(report.skipped)) as progress:
        return IngestService(runtime, read_metadata=read_metadata).ingest(project, sources, progress, report=report)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=LocalPath(path_type=Path))
@click.option("--project", "-p", required=True, help="Project (library) the photos belong to.")
@click.option("--cluster/--no-cluster", default=True, show_default=True, help="Cluster the project afterwards.")
@click.option("--read-metadata/--no-read-metadata", default=None,
              help="Confirm the faces the photos' XMP names (default: PEOPLEGRAPH_READ_METADATA, on).")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@ACTOR_OPTION
@click.pass_obj
@fail_clearly
def ingest(obj: Context, paths: tuple[Path, ...], project: str, cluster: bool, read_metadata: bool | None,
           as_json: bool, actor: str) -> None:
    """Ingest photos and folders (recursively): detect, embed and store every face; confirm the faces their
    XMP names (MWG face regions, as digiKam and Lightroom write them); match new faces against confirmed
    people (tagged, or queued for review); then cluster the rest."""
    with obj.runtime() as runtime:
        reading = runtime.settings.read_metadata if read_metadata is None else read_metadata
        report = _run_ingest(runtime, project, list(paths), reading)
        payload = report.to_dict()
        text = _ingest_text(report, runtime.settings.body_reid)
        if reading:
            found = import_people(runtime, project, report.named, actor=actor)
            payload["metadata"] = found.to_dict()
            text += "\n" + cli_xmp.metadata_text(found)
        matching = match_new_faces(runtime, project, report.face_ids)
        if matching.people:
            payload["matching"] = matching.to_dict()
            text += (f"\nmatched against {matching.people} people: {matching.auto} faces tagged, {matching.review} "
                     f"for review, {matching.unknown} unknown")
        if cluster:
            clustering = cluster_new_faces(runtime, project, report.face_ids)
            payload["clustering"] = clustering.to_dict()
            text += "\n" + clustering_text(clustering)
        if runtime.settings.body_reid:
            bodies = match_bodies(runtime, project, report.photo_ids)
            payload["body_matching"] = bodies.to_dict()
            text += "\n" + cli_reid.body_matching_text(bodies)
    emit(as_json, payload, text)
    if _mistyped(report):  # the rest was ingested; the typo still fails the command, as cp's would
        raise click.ClickException(f"{_mistyped(report)}: no such file or folder")


@main.command("cluster")
@click.option("--mode", type=click.Choice(MODES), default="reset", show_default=True,
              help="reset: cluster every face again; missing: only faces without a cluster (existing cluster ids "
                   "stay).")
@project_command()
def cluster_command(obj: Context, project: str, mode: str, as_json: bool) -> None:
    """Cluster the project's faces into people."""
    with obj.runtime() as runtime:
        report = cluster_project(runtime, project, mode=mode)
    emit(as_json, report.to_dict(), clustering_text(report))


def _detect_table(name: str, found: list[dict]) -> str:
    if not found:
        return f"{name}: no face found"
    rows = [f"{name}: {len(found)} face(s)",
            f"{'#':>3} {'box':<22} {'conf':>5} {'yaw':>6} {'pitch':>6} {'roll':>6} {'score':>5} {'age':>5}  flags"]
    for i, f in enumerate(found, 1):
        box = ",".join(f"{v:.0f}" for v in f["box"])
        flags = [k for k, v in f["quality"].items() if k != "score" and v["flag"]] + (["child"] if f["child"] else [])
        age = "-" if f["age"] is None else f"{f['age']:.0f}"
        rows.append(f"{i:>3} {box:<22} {f['confidence']:>5.1f} {f['pose']['yaw']:>6.1f} {f['pose']['pitch']:>6.1f} "
                    f"{f['pose']['roll']:>6.1f} {f['quality']['score']:>5.1f} {age:>5}  {', '.join(flags) or '-'}")
    return "\n".join(rows)


@main.command()
@click.argument("image", type=LocalPath(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per face.")
@click.pass_obj
@fail_clearly
def detect(obj: Context, image: Path, as_json: bool) -> None:
    """Detect the faces of one photo: box, landmarks, confidence, pose and quality indicators (nothing stored)."""
    from peoplegraph.engine.decode import ImageRejected, decode_image
    from peoplegraph.engine.analysis import describe_faces
    from peoplegraph.engine.packs import load_pack

    settings = obj.settings()
    try:
        decoded = decode_image(image, name=str(image), max_pixels=settings.max_image_pixels,
                               max_bytes=settings.max_file_bytes, max_side=settings.detection_max_side)
    except ImageRejected as exc:
        raise click.ClickException(f"{exc.name}: {exc.reason}") from None
    pack = load_pack(settings)
    pack.prepare(settings.threads)
    found = [d.to_dict(pack.model_id) for d in describe_faces(pack, decoded, settings)]
    emit(as_json, found, _detect_table(str(image), found))


@main.command()
@click.argument("selfie", type=LocalPath(path_type=Path))
@PROJECT_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most this many photos.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the threshold and the photos.")
@click.pass_obj
@fail_clearly
def search(obj: Context, selfie: Path, project: str, limit: int | None, as_json: bool) -> None:
    """Every photo of the project that the selfie's person appears in, best match first, with scores."""
    from peoplegraph.services.search import search_project, selfie_embedding

    with obj.runtime() as runtime:
        found = search_project(runtime, project, selfie_embedding(runtime, selfie))[:limit]
        photos = {p.photo_id: p.path for p in runtime.graph.photos_by_id(project, [m.photo_id for m in found])}
        threshold = runtime.search_similarity
    matches = [{**m.to_dict(), "path": photos.get(m.photo_id)} for m in found]
    rows = [f"{len(matches)} photo(s) of {project} match {selfie} (threshold {threshold:.3f})"]
    rows += [f"{m['score']:6.3f} {m['via']:<7} {m['path'] or m['photo_id']}" for m in matches]
    emit(as_json, {"selfie": str(selfie), "project": project, "threshold": threshold, "photos": matches},
          "\n".join(rows))


@main.command("eval")
@click.argument("labeled_dir", type=LocalPath(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
@click.pass_obj
@fail_clearly
def evaluate_folder(obj: Context, labeled_dir: Path, as_json: bool) -> None:
    """Score clustering, identification and selfie search on LABELED_DIR (one subfolder per person), in a
    throw-away data folder, and recommend a clustering threshold for these photos."""
    from peoplegraph.services.evaluation import evaluate, labelled_photos

    total = len(labelled_photos(labeled_dir))
    with _ingest_progress(total) as progress:
        result = evaluate(obj.settings(), labeled_dir, progress)
    emit(as_json, result, _evaluation_text(result))


def _evaluation_text(r: dict) -> str:
    def figure(value: float | None) -> str:
        return "n/a" if value is None else f"{value:.4f}"

    lines = [
        f"{r['folder']}: {r['photos']} photos of {r['people']} people ({r['people_with_2_or_more_photos']} with 2+), "
        f"{r['faces']} faces, {r['photos_without_face']} photos without a face, {len(r['skipped'])} skipped",
        f"clustering at similarity {r['similarity']:.3f}: {r['clusters']} clusters for {r['people']} people; "
        f"BCubed P/R/F {figure(r['bcubed_precision'])} / {figure(r['bcubed_recall'])} / {figure(r['bcubed_f'])}; "
        f"pairwise P/R/F {figure(r['pairwise_precision'])} / {figure(r['pairwise_recall'])} / {figure(r['pairwise_f'])}",
        f"identification: rank-1 {figure(r['rank1'])} over {r['identification_queries']} queries; TAR at FAR 1% "
        f"{figure(r['tar_at_far_1e-2'])}, at FAR 0.1% {figure(r['tar_at_far_1e-3'])} ({r['impostors']} impostors)",
        f"selfie search at {r['search_similarity']:.3f}: recall {figure(r['selfie_recall'])}, precision "
        f"{figure(r['selfie_precision'])} over {r['selfies']} selfies",
        "threshold sweep (similarity: BCubed F, pairwise F, clusters):",
        *(f"  {row['similarity']:.3f}: {row['bcubed_f']:.4f} {row['pairwise_f']:.4f} {row['clusters']}"
          for row in r["sweep"]),
        f"recommended cluster similarity: {r['recommended']['cluster_similarity']:.3f} "
        f"(--cluster-similarity / PEOPLEGRAPH_CLUSTER_SIMILARITY)",
    ]
    m, rec = r["matching"], r["recommended"]
    if rec["auto_threshold"] is None:
        lines.append(f"auto-matching: too few people with {m['references_per_person'] + 1}+ photos or strangers "
                     "with one photo to recommend thresholds")
    else:
        lines += [
            f"auto-matching ({m['people']} people with {m['references_per_person']} references, {m['new_faces']} new "
            f"faces, {m['strangers']} strangers): at {rec['auto_threshold']:.3f} {figure(m['auto_recall'])} of new "
            f"faces tagged, {figure(m['auto_precision'])} rightly, {figure(m['strangers_tagged'])} of strangers "
            f"tagged; from {rec['review_threshold']:.3f} {figure(m['strangers_in_review'])} of strangers in review",
            f"recommended auto / review threshold: {rec['auto_threshold']:.3f} / {rec['review_threshold']:.3f} "
            "(--auto-threshold, --review-threshold)",
        ]
    lines.append(f"recommended search similarity: {rec['search_similarity']:.3f} (--search-similarity)")
    return "\n".join(lines)


@main.command()
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Run the ARQ worker inside the API process (needed with the embedded stores).")
@click.pass_obj
@fail_clearly
def serve(obj: Context, worker: bool) -> None:
    """Serve the REST API and GraphQL (with an in-process worker and the embedded stores by default)."""
    import uvicorn

    from peoplegraph.api.app import create_app

    settings = obj.settings()
    _check_free(settings.host, settings.port)
    uvicorn.run(create_app(settings, in_process_worker=worker, url=settings.local_url), host=settings.host,
                port=settings.port)


def _check_free(host: str, port: int) -> None:
    """Refuse before anything starts (a new data folder's admin key is shown once, at start) when the address
    is taken."""
    import socket

    try:
        family = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)[0][0]
        with socket.socket(family, socket.SOCK_STREAM) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        raise click.ClickException(f"serve: cannot listen on {host}:{port}: {exc.strerror or exc} (another server "
                                   "there? PEOPLEGRAPH_PORT / --port chooses another)") from None


@main.command()
@click.pass_obj
@fail_clearly
def worker(obj: Context) -> None:
    """Run an ARQ worker (for deployments whose stores are servers: Milvus and Neo4j)."""
    from peoplegraph.workers.queue import queue_redis
    from peoplegraph.workers.runner import build_worker

    settings = obj.settings()
    with Runtime(settings) as runtime, queue_redis(settings) as redis_settings:
        runtime.vectors, runtime.graph  # noqa: B018 - open the stores now: fail before taking jobs
        with face_index_warming(runtime):
            build_worker(runtime, redis_settings, in_process=False).run()


@main.command()
@click.option("--project", "-p", default="demo", show_default=True)
@JSON_OPTION
@click.pass_obj
@fail_clearly
def demo(obj: Context, project: str, as_json: bool) -> None:
    """Ingest the sample photo that ships with insightface (six people) and print faces and clusters.

    One photo shows each person once, so the demo lets a single face form a cluster. It ends with the address
    and a key (the project's owner key `demo`, made anew each run) to review the result in the web UI."""
    sample = _insightface_sample()
    with obj.runtime() as runtime:
        report = _run_ingest(runtime, project, [sample])
        clustering = cluster_project(runtime, project, min_cluster_size=1)
        faces = catalog.faces(runtime, project)
        found = catalog.clusters(runtime, project)
        key = KeyService(runtime.graph).reissue("demo", "owner", project)
    url = runtime.settings.local_url
    payload = {"photo": str(sample), "ingest": report.to_dict(), "faces": [catalog.face_to_dict(f) for f in faces],
               "clustering": clustering.to_dict(), "clusters": [catalog.cluster_to_dict(c) for c in found],
               "web_ui": {"url": f"{url}/", "key": key.secret}}
    face_lines = [
        f"  face {f.face_id}: box [{', '.join(f'{v:.0f}' for v in f.box)}] confidence {f.det_score * 100:.1f}"
        for f in faces
    ]
    text = "\n".join([f"sample photo: {sample}", _ingest_text(report), f"faces ({len(faces)}):", *face_lines,
                      clustering_text(clustering), clusters_table(found),
                      f"\nReview it in the web UI: run `peoplegraph serve`, open {url}/ and sign in with the key\n"
                      f"    {key.secret}\n(the owner key `demo` of project {project!r}: shown once, made anew by each demo)"])
    emit(as_json, payload, text)


def _insightface_sample() -> Path:
    try:
        import insightface
    except ImportError:
        raise click.ClickException(
            "the demo uses insightface's sample photo: pip install -e '.[insightface]' && "
            "pip install --no-deps insightface==2.1"
        ) from None
    sample = Path(insightface.__file__).parent / "data" / "images" / "t1.jpg"
    if not sample.is_file():
        raise click.ClickException(f"insightface's sample photo is missing: {sample}")
    return sample


@main.group()
def models() -> None:
    """Model packs."""


@models.command("prepare")
@click.option("--model-pack", help="The pack to prepare (as the global --model-pack).")
@click.option("--model-source", type=LocalPath(path_type=Path, file_okay=False),
              help="A folder holding the pack's files (as the global --model-source).")
@click.pass_obj
@fail_clearly
def models_prepare(obj: Context, model_pack: str | None, model_source: Path | None) -> None:
    """Download (where needed), convert and verify the model pack, once."""
    obj.overrides.update({k: v for k, v in (("model_pack", model_pack), ("model_source", model_source)) if v})
    runtime = obj.runtime()
    pack = runtime.pack
    click.echo(f"{pack.name}: model {pack.model_id}, {pack.embedding_dim}-D embeddings, ready in "
               f"{runtime.settings.models_path}")


@models.command("switch")
@project_command()
@click.option("--model-pack", help="The pack to move the project to (as the global --model-pack).")
def models_switch(obj: Context, project: str, as_json: bool, model_pack: str | None) -> None:
    """Move a project to the model pack: its faces re-embedded (same faces, boxes and clusters, every decision
    kept), then bound to the pack. Photos are read where they were ingested, or from the kept uploads."""
    if model_pack:
        obj.overrides["model_pack"] = model_pack
    with obj.runtime() as runtime:
        pack = runtime.pack
        with tqdm(unit="photo", desc="re-embed", file=sys.stderr, dynamic_ncols=True) as bar:
            def progress(report: SwitchReport, total: int) -> None:
                bar.total = total
                bar.update(report.photos - bar.n)
                bar.set_postfix(faces=report.faces, unavailable=len(report.unavailable), refresh=False)

            report = switch_face_model(runtime, project, progress)
    if report.unavailable:
        lines = [f"  {u['path']}: {u['reason']}" for u in report.unavailable[:20]]
        more = len(report.unavailable) - len(lines)
        raise click.ClickException(
            f"{len(report.unavailable)} photo(s) of project {project!r} could not be read again, so nothing was "
            f"changed (the project stays on {report.from_model}):\n" + "\n".join(lines)
            + (f"\n  ... and {more} more" if more > 0 else "")
            + "\nPut the files back where they were ingested, or delete those photos, and run the command again")
    text = (f"project {project!r} is already on {pack.name} ({report.to_model})" if not report.switched else
            f"project {project!r} moved from {report.from_model} to {pack.name} ({report.to_model}): "
            f"{report.faces} faces of {report.photos} photos re-embedded, every decision kept. Clusters are as "
            "they were; `peoplegraph cluster --mode reset` re-clusters them with the new pack's threshold")
    emit(as_json, report.to_dict(), text)

