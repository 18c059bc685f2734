"""The `peoplegraph` command. Every setting is also a global flag: `--data-dir` <-> PEOPLEGRAPH_DATA_DIR."""

from __future__ import annotations

import contextlib
import functools
import getpass
import json
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import click
from pydantic import ValidationError
from tqdm import tqdm

from peoplegraph.engine.pack import ModelPackError
from peoplegraph.observations.store import StoreBusyError
from peoplegraph.linking import service as linking
from peoplegraph.linking.matching import match_new_faces
from peoplegraph.linking.service import LinkingResult
from peoplegraph.services import catalog
from peoplegraph.services.clustering import MODES, ClusteringReport, cluster_project
from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

FRIENDLY_ERRORS = (ModelPackError, StoreBusyError, ValueError, OSError)


def _settings_options(command: click.Command) -> click.Command:
    """One global flag per settings field, typed and documented from the settings object itself."""
    for name, field in reversed(Settings.model_fields.items()):
        flag = "--" + name.replace("_", "-")
        help_text = f"{field.description} [env: PEOPLEGRAPH_{name.upper()}]"
        command = click.option(flag, name, default=None, help=help_text, show_default=False)(command)
    return command


class Context:
    def __init__(self, overrides: dict[str, Any]) -> None:
        self.overrides = {k: v for k, v in overrides.items() if v is not None}

    def settings(self) -> Settings:
        try:
            return Settings(**self.overrides)
        except ValidationError as exc:
            problems = "; ".join(
                f"{'/'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors()
            )
            raise click.UsageError(f"invalid setting: {problems}") from None

    def runtime(self) -> Runtime:
        return Runtime(self.settings())


PROJECT_OPTION = click.option("--project", "-p", required=True, help="The project (library).")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")


def _fail_clearly(func):
    """Known failures (bad project name, model pack missing, store busy) print one line, not a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except FRIENDLY_ERRORS as exc:
            raise click.ClickException(str(exc)) from None

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 110})
@_settings_options
@click.pass_context
def main(ctx: click.Context, **overrides: Any) -> None:
    """Find, group and name the people in large photo libraries."""
    ctx.obj = Context(overrides)


def _emit(as_json: bool, payload: Any, text: str) -> None:
    click.echo(json.dumps(payload, indent=2) if as_json else text)


def _ingest_text(report: IngestReport) -> str:
    lines = [
        f"photos seen: {report.photos}",
        f"new photos:  {report.new_photos}",
        f"faces found: {report.faces}",
        f"skipped:     {len(report.skipped)}",
    ]
    lines += [f"  {s.path}: {s.reason}" for s in report.skipped]
    return "\n".join(lines)


def _clustering_text(report: ClusteringReport) -> str:
    return (
        f"clusters: {report.clusters} ({report.clustered_faces} of {report.faces} faces clustered, "
        f"{report.unclustered_faces} unclustered; similarity >= {report.similarity:.3f}, "
        f"min size {report.min_cluster_size})"
    )


@contextlib.contextmanager
def _ingest_progress(total: int) -> Iterator[Callable[[IngestReport, int], None]]:
    """A progress bar on stderr (stdout stays clean for --json) and the ingest callback that moves it."""
    with tqdm(total=total, unit="photo", desc="ingest", file=sys.stderr, dynamic_ncols=True) as bar:

        def progress(current: IngestReport, _total: int) -> None:
            bar.update(current.processed - bar.n)
            bar.set_postfix(faces=current.faces, skipped=len(current.skipped), refresh=False)

        yield progress


def _run_ingest(runtime: Runtime, project: str, paths: list[Path]) -> IngestReport:
    report = IngestReport()
    sources = collect_sources(paths, report)
    with _ingest_progress(len(sources) + len(report.skipped)) as progress:
        return IngestService(runtime).ingest(project, sources, progress, report=report)


@main.command()
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@click.option("--project", "-p", required=True, help="Project (library) the photos belong to.")
@click.option("--cluster/--no-cluster", default=True, show_default=True, help="Cluster the project afterwards.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object.")
@click.pass_obj
@_fail_clearly
def ingest(obj: Context, paths: tuple[Path, ...], project: str, cluster: bool, as_json: bool) -> None:
    """Ingest photos and folders (recursively): detect, embed and store every face; match new faces against
    confirmed people (tagged, or queued for review); then cluster the rest."""
    with obj.runtime() as runtime:
        report = _run_ingest(runtime, project, list(paths))
        payload = report.to_dict()
        text = _ingest_text(report)
        matching = match_new_faces(runtime, project)
        if matching.people:
            payload["matching"] = matching.to_dict()
            text += (f"\nmatched against {matching.people} people: {matching.auto} faces tagged, {matching.review} "
                     f"for review, {matching.unknown} unknown")
        if cluster:
            clustering = cluster_project(runtime, project)
            payload["clustering"] = clustering.to_dict()
            text += "\n" + _clustering_text(clustering)
    _emit(as_json, payload, text)


@main.command("cluster")
@PROJECT_OPTION
@click.option("--mode", type=click.Choice(MODES), default="reset", show_default=True,
              help="reset: cluster every face again; missing: only faces without a cluster (existing cluster ids "
                   "stay).")
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def cluster_command(obj: Context, project: str, mode: str, as_json: bool) -> None:
    """Cluster the project's faces into people."""
    with obj.runtime() as runtime:
        report = cluster_project(runtime, project, mode=mode)
    _emit(as_json, report.to_dict(), _clustering_text(report))


@main.group()
def clusters() -> None:
    """Inspect the machine's clusters."""


def _clusters_table(found: list) -> str:
    if not found:
        return "no clusters (run `peoplegraph cluster`)"
    rows = [f"{'id':>5} {'faces':>6} {'photos':>6} {'conf':>5}  representative (photo, box)"]
    for c in found:
        box = ",".join(f"{v:.0f}" for v in c.representative_box)
        rows.append(f"{c.cluster_id:>5} {c.size:>6} {len(c.photo_ids):>6} {c.mean_confidence:>5.2f}  "
                    f"{c.representative_photo_id[:12]} [{box}]")
    return "\n".join(rows)


@clusters.command("list")
@PROJECT_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def clusters_list(obj: Context, project: str, as_json: bool) -> None:
    """Clusters, largest first: id, size, representative face, average detection confidence."""
    with obj.runtime() as runtime:
        found = catalog.clusters(runtime, project)
    _emit(as_json, [catalog.cluster_to_dict(c) for c in found], _clusters_table(found))


ACTOR_OPTION = click.option("--actor", default=getpass.getuser, show_default="your user name",
                            help="Who decides (recorded with every decision).")


def _link(obj: Context, as_json: bool, action: Callable[..., LinkingResult], *args: Any, **kwargs: Any) -> None:
    """Run one linking action on the project's stores and print what it did."""
    with obj.runtime() as runtime:
        result = action(runtime, *args, **kwargs)
    _emit(as_json, result.to_dict(), _linking_text(result))


def _linking_text(result: LinkingResult) -> str:
    person = f" as {result.person_id}" if result.person_id else ""
    return f"{result.action}: {len(result.faces)} face(s){person}\n{_clustering_text(result.clustering)}"


@clusters.command("confirm")
@click.argument("cluster", type=int)
@PROJECT_OPTION
@click.option("--name", help="A new person's name.")
@click.option("--person", "person_id", help="An existing person's id (peoplegraph people list).")
@ACTOR_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def clusters_confirm(obj: Context, cluster: int, project: str, name: str | None, person_id: str | None, actor: str,
                     as_json: bool) -> None:
    """Confirm a cluster as a person: every face of it is that person from now on, whatever later runs do."""
    _link(obj, as_json, linking.confirm_cluster, project, cluster, name=name, person_id=person_id, actor=actor)


@clusters.command("ignore")
@click.argument("cluster", type=int)
@PROJECT_OPTION
@ACTOR_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def clusters_ignore(obj: Context, cluster: int, project: str, actor: str, as_json: bool) -> None:
    """Ignore a cluster (background extras, crew): its faces never seed or join a cluster again."""
    _link(obj, as_json, linking.ignore_cluster, project, cluster, actor=actor)


@clusters.command("reset")
@PROJECT_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def clusters_reset(obj: Context, project: str, as_json: bool) -> None:
    """Cluster every face again; every confirmation, removal and ignored cluster is kept."""
    _link(obj, as_json, linking.reset, project)


@main.command("undo")
@PROJECT_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def undo_command(obj: Context, project: str, as_json: bool) -> None:
    """Undo the latest confirm, ignore, remove, review or auto-matching run (again for the one before)."""
    _link(obj, as_json, linking.undo, project)


@main.group()
def faces() -> None:
    """Faces: take wrongly grouped faces out of a person's cluster."""


@faces.command("remove")
@click.argument("face_ids", nargs=-1, required=True, type=int)
@PROJECT_OPTION
@ACTOR_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def faces_remove(obj: Context, face_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """Take faces out of their confirmed person's cluster: they never join that person again."""
    _link(obj, as_json, linking.remove_faces, project, face_ids, actor=actor)


@main.group()
def review() -> None:
    """The review queue: new faces auto-matching suggests for a person but did not tag on its own."""


@review.command("list")
@PROJECT_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def review_list(obj: Context, project: str, as_json: bool) -> None:
    """Queued faces, best score first: face, suggested person, score, the confirmed faces it was scored on."""
    with obj.runtime() as runtime:
        queued = linking.review_queue(runtime, project)
    rows = [f"{d.face_id:>20} {d.suggested_as:<24} {d.score:.3f}  {list(d.references)}" for d in queued]
    _emit(as_json, [{"face_id": d.face_id, "person_id": d.suggested_as, "score": d.score,
                     "references": list(d.references)} for d in queued],
          "\n".join(rows) or f"the review queue of {project} is empty")


@review.command("accept")
@click.argument("face_ids", nargs=-1, required=True, type=int)
@PROJECT_OPTION
@ACTOR_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def review_accept(obj: Context, face_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """These queued faces are the person suggested for them."""
    _link(obj, as_json, linking.review_faces, project, face_ids, accept=True, actor=actor)


@review.command("reject")
@click.argument("face_ids", nargs=-1, required=True, type=int)
@PROJECT_OPTION
@ACTOR_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def review_reject(obj: Context, face_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """These queued faces are not the person suggested for them (never suggested or matched to them again)."""
    _link(obj, as_json, linking.review_faces, project, face_ids, accept=False, actor=actor)


@main.group()
def people() -> None:
    """Named people."""


@people.command("edit")
@click.argument("person_id")
@PROJECT_OPTION
@click.option("--name", help="The person's name.")
@click.option("--born", help="Birth date, YYYY-MM-DD ('' clears it): photos taken before it are never auto-matched "
                             "to this person.")
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def people_edit(obj: Context, person_id: str, project: str, name: str | None, born: str | None, as_json: bool) -> None:
    """Edit a person: name, birth date."""
    with obj.runtime() as runtime:
        known = {p.person_id: p for p in catalog.people(runtime, project)}
        if person_id not in known:
            raise ValueError(f"person: no person {person_id!r} in project {project!r}")
        if born is not None:
            runtime.graph.set_born(project, person_id, born)
        if name is not None:
            runtime.graph.add_person(project, person_id, name)
        person = next(p for p in catalog.people(runtime, project) if p.person_id == person_id)
    _emit(as_json, {"id": person.person_id, "name": person.name, "born": person.born or None},
          f"{person.person_id}: {person.name}, born {person.born or 'unknown'}")


@people.command("show")
@click.argument("person_id")
@PROJECT_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def people_show(obj: Context, person_id: str, project: str, as_json: bool) -> None:
    """A person: name, birth date, clusters, the photos they appear in and who appears with them."""
    with obj.runtime() as runtime:
        person = next((p for p in catalog.people(runtime, project) if p.person_id == person_id), None)
        if person is None:
            raise ValueError(f"person: no person {person_id!r} in project {project!r}")
        photos = runtime.graph.photos_with_all(project, [person_id])
        together = runtime.graph.co_appearances(project, person_id)
    payload = {"id": person.person_id, "name": person.name, "born": person.born or None,
               "clusters": list(person.cluster_ids), "photos": [p.path for p in photos],
               "appears_with": [{"id": p, "name": n, "photos": k} for p, n, k in together]}
    text = "\n".join([f"{person.name} ({person.person_id}), born {person.born or 'unknown'}, clusters "
                      f"{list(person.cluster_ids)}", f"{len(photos)} photos:", *(f"  {p.path}" for p in photos),
                      "appears with:", *(f"  {n} ({p}): {k} photos" for p, n, k in together)])
    _emit(as_json, payload, text)


@people.command("list")
@PROJECT_OPTION
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def people_list(obj: Context, project: str, as_json: bool) -> None:
    """The project's people: id, name, clusters, number of photos."""
    with obj.runtime() as runtime:
        found = catalog.people(runtime, project)
    rows = [f"{p.person_id:<24} {p.name:<30} {p.photo_count:>6} photos, clusters {list(p.cluster_ids)}" for p in found]
    _emit(as_json, [{"id": p.person_id, "name": p.name, "born": p.born or None, "clusters": list(p.cluster_ids),
                     "photos": p.photo_count} for p in found], "\n".join(rows) or f"no people in {project} yet")


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
@click.argument("image", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print a JSON list, one object per face.")
@click.pass_obj
@_fail_clearly
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
    _emit(as_json, found, _detect_table(str(image), found))


@main.command()
@click.argument("selfie", type=click.Path(path_type=Path))
@PROJECT_OPTION
@click.option("--limit", type=click.IntRange(min=1), default=None, help="Show at most this many photos.")
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object: the threshold and the photos.")
@click.pass_obj
@_fail_clearly
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
    _emit(as_json, {"selfie": str(selfie), "project": project, "threshold": threshold, "photos": matches},
          "\n".join(rows))


@main.command("eval")
@click.argument("labeled_dir", type=click.Path(path_type=Path))
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object with every figure.")
@click.pass_obj
@_fail_clearly
def evaluate_folder(obj: Context, labeled_dir: Path, as_json: bool) -> None:
    """Score clustering, identification and selfie search on LABELED_DIR (one subfolder per person), in a
    throw-away data folder, and recommend a clustering threshold for these photos."""
    from peoplegraph.services.evaluation import evaluate, labelled_photos

    total = len(labelled_photos(labeled_dir))
    with _ingest_progress(total) as progress:
        result = evaluate(obj.settings(), labeled_dir, progress)
    _emit(as_json, result, _evaluation_text(result))


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
    return "\n".join(lines)


@main.command()
@click.option("--worker/--no-worker", default=True, show_default=True,
              help="Run the ARQ worker inside the API process (needed with the embedded stores).")
@click.pass_obj
@_fail_clearly
def serve(obj: Context, worker: bool) -> None:
    """Serve the REST API and GraphQL (with an in-process worker and the embedded stores by default)."""
    import uvicorn

    from peoplegraph.api.app import create_app

    settings = obj.settings()
    uvicorn.run(create_app(settings, in_process_worker=worker), host=settings.host, port=settings.port)


@main.command()
@click.pass_obj
@_fail_clearly
def worker(obj: Context) -> None:
    """Run an ARQ worker (for deployments whose stores are servers: Milvus and Neo4j)."""
    from peoplegraph.workers.queue import queue_redis
    from peoplegraph.workers.runner import build_worker

    settings = obj.settings()
    with Runtime(settings) as runtime, queue_redis(settings) as redis_settings:
        runtime.vectors, runtime.graph  # noqa: B018 - open the stores now: fail before taking jobs
        build_worker(runtime, redis_settings, in_process=False).run()


@main.command()
@click.option("--project", "-p", default="demo", show_default=True)
@JSON_OPTION
@click.pass_obj
@_fail_clearly
def demo(obj: Context, project: str, as_json: bool) -> None:
    """Ingest the sample photo that ships with insightface (six people) and print faces and clusters.

    One photo shows each person once, so the demo lets a single face form a cluster."""
    sample = _insightface_sample()
    with obj.runtime() as runtime:
        report = _run_ingest(runtime, project, [sample])
        clustering = cluster_project(runtime, project, min_cluster_size=1)
        faces = catalog.faces(runtime, project)
        found = catalog.clusters(runtime, project)
    payload = {"photo": str(sample), "ingest": report.to_dict(), "faces": [catalog.face_to_dict(f) for f in faces],
               "clustering": clustering.to_dict(), "clusters": [catalog.cluster_to_dict(c) for c in found]}
    face_lines = [
        f"  face {f.face_id}: box [{', '.join(f'{v:.0f}' for v in f.box)}] confidence {f.det_score * 100:.1f}"
        for f in faces
    ]
    text = "\n".join([f"sample photo: {sample}", _ingest_text(report), f"faces ({len(faces)}):", *face_lines,
                      _clustering_text(clustering), _clusters_table(found)])
    _emit(as_json, payload, text)


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
@click.pass_obj
@_fail_clearly
def models_prepare(obj: Context) -> None:
    """Download (where needed), convert and verify the model pack, once."""
    runtime = obj.runtime()
    pack = runtime.pack
    click.echo(f"{pack.name}: model {pack.model_id}, {pack.embedding_dim}-D embeddings, ready in "
               f"{runtime.settings.models_path}")


if __name__ == "__main__":
    main()
