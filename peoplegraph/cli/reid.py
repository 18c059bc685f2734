"""`peoplegraph reid`: body re-identification packs, scored on Market-layout folders (reid/evaluation.py)."""

from __future__ import annotations

import sys
import time
from pathlib import Path

import click
from tqdm import tqdm

from peoplegraph.cli.common import Context, LocalPath, emit, fail_clearly, project_command
from peoplegraph.linking.bodies import (BodyAppearance, BodyMatchReport, body_appearances, match_bodies,
                                        review_bodies)
from peoplegraph.reid.evaluation import ReidScores, embed_crops, evaluate, market_crops
from peoplegraph.reid.packs import BODY_PACKS, BodyEmbedder


@click.group("reid")
def reid_group() -> None:
    """Body re-identification: find people by their body where the face is hidden."""


@reid_group.command("eval")
@click.option("--query", "query_dir", required=True, type=LocalPath(path_type=Path, file_okay=False, exists=True),
              help="Query crops, named as Market-1501 names them (0002_c1s1_000451_03.jpg).")
@click.option("--gallery", "gallery_dir", required=True,
              type=LocalPath(path_type=Path, file_okay=False, exists=True), help="Gallery crops, named the same way.")
@click.option("--pack", type=click.Choice(sorted(BODY_PACKS)), default=None,
              help="The body pack to score (default: the body_pack setting).")
@click.option("--rerank", is_flag=True, help="Also score with k-reciprocal re-ranking (Zhong et al. 2017).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@fail_clearly
def eval_command(obj: Context, query_dir: Path, gallery_dir: Path, pack: str | None, rerank: bool,
                 as_json: bool) -> None:
    """Rank-1, rank-5, rank-10 and mAP of a body pack with Market-1501's protocol: a query's own identity seen
    by its own camera is left out of its gallery, identity -1 (junk) is ignored, 0000 (distractors) stay."""
    settings = obj.settings()
    spec = BODY_PACKS[pack or settings.body_pack]
    embedder = BodyEmbedder(spec, settings.models_path, settings.model_source)
    embedder.prepare(settings.threads)
    queries, gallery = market_crops(query_dir), market_crops(gallery_dir)
    with tqdm(total=len(queries) + len(gallery), unit="crop", desc="embed", file=sys.stderr) as bar:
        def embed(images):
            found = embedder.get(images)
            bar.update(len(images))
            return found

        began = time.perf_counter()
        q, g = embed_crops(embed, queries), embed_crops(embed, gallery)
        rate = (len(queries) + len(gallery)) / (time.perf_counter() - began)
    results = [ReidScores(len(queries), len(gallery), *evaluate(q, g, queries, gallery), crops_per_s=rate)]
    if rerank:
        results.append(ReidScores(len(queries), len(gallery), *evaluate(q, g, queries, gallery, rerank=True),
                                  crops_per_s=rate, reranked=True))
    payload = {"pack": spec.name, "model_id": spec.model_id, "scores": [r.to_dict() for r in results]}
    lines = [f"{spec.name}: {len(queries)} queries ({results[0].scored} with a match seen by another camera), "
             f"{len(gallery)} gallery crops, {rate:.0f} crops/s"]
    lines += [f"  {'re-ranked' if r.reranked else 'cosine   '}  rank-1 {r.rank1:.1%}  rank-5 {r.rank5:.1%}  "
              f"rank-10 {r.rank10:.1%}  mAP {r.mAP:.1%}" for r in results]
    emit(as_json, payload, "\n".join(lines))


def body_matching_text(report: BodyMatchReport) -> str:
    return (f"bodies: {report.references} carry a person by their face; of {report.candidates} without one, "
            f"{report.tagged} tagged by body, {report.queued} for review, {report.without_window} in photos with "
            "neither an event nor a time (never matched by body)")


@reid_group.command("match")
@project_command()
def match_command(obj: Context, project: str, as_json: bool) -> None:
    """Match the bodies without a usable face to people, by the bodies of the same event or time window
    (body_auto_threshold, body_review_threshold, body_margin, body_time_window_h). Undoable (`undo`)."""
    with obj.runtime() as runtime:
        report = match_bodies(runtime, project)
    emit(as_json, report.to_dict(), body_matching_text(report))


def _appearances_text(found: list[BodyAppearance], empty: str) -> str:
    rows = [f"{a.body_id:>20} {a.person_id:<24} {a.score or 0:.3f}  face {a.face_score if a.face_score is not None else '-'}"
            f"  photo {a.photo_id[:12]}  box {','.join(f'{v:.0f}' for v in a.box)}  refs {list(a.references)}"
            for a in found]
    return "\n".join(rows) or empty


@reid_group.command("appearances")
@click.option("--person", "person_id", default=None, help="One person's (default: everyone's).")
@project_command()
def appearances_command(obj: Context, project: str, person_id: str | None, as_json: bool) -> None:
    """Where people were found by their body (apart from their faces): body, person, body score, face score,
    photo, box and the reference bodies it was scored on."""
    with obj.runtime() as runtime:
        found = body_appearances(runtime, project, person_id)
    emit(as_json, [a.to_dict() for a in found], _appearances_text(found, "no one was found by body"))


@reid_group.command("queue")
@project_command()
def queue_command(obj: Context, project: str, as_json: bool) -> None:
    """Bodies body matching suggests for a person but did not tag on its own, best score first."""
    with obj.runtime() as runtime:
        found = body_appearances(runtime, project, status="queued")
    emit(as_json, [a.to_dict() for a in found], _appearances_text(found, f"the body review queue of {project} is empty"))


BODIES_ARGUMENT = click.argument("body_ids", nargs=-1, required=True, type=int)


@reid_group.command("accept")
@BODIES_ARGUMENT
@project_command(actor=True)
def accept_command(obj: Context, body_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """These queued bodies are the person suggested for them. Undoable."""
    with obj.runtime() as runtime:
        result = review_bodies(runtime, project, body_ids, accept=True, actor=actor)
    emit(as_json, result.to_dict(), f"{result.action}: {len(result.bodies)} bodies")


@reid_group.command("reject")
@BODIES_ARGUMENT
@project_command(actor=True)
def reject_command(obj: Context, body_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """These queued bodies are not the person suggested for them (never suggested again). Undoable."""
    with obj.runtime() as runtime:
        result = review_bodies(runtime, project, body_ids, accept=False, actor=actor)
    emit(as_json, result.to_dict(), f"{result.action}: {len(result.bodies)} bodies")


COMMANDS = (reid_group,)
