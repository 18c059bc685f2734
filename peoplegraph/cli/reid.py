"""`peoplegraph reid`: body re-identification packs, scored on Market-layout folders (reid/evaluation.py)."""

from __future__ import annotations

import sys
from dataclasses import asdict
import time
from pathlib import Path

import click
from tqdm import tqdm

from peoplegraph.cli.common import Context, IdOf, LocalPath, emit, fail_clearly, project_command
from peoplegraph.reid.training import ARCHITECTURES
from peoplegraph.linking.bodies import (BodyAppearance, BodyMatchReport, body_appearances, match_bodies,
                                        review_bodies)
from peoplegraph.reid.evaluation import ReidScores, embed_crops, evaluate, market_crops
from peoplegraph.reid.packs import BODY_PACKS, BodyEmbedder, body_pack


@click.group("reid")
def reid_group() -> None:
    """Body re-identification: find people by their body where the face is hidden."""


@reid_group.command("eval")
@click.option("--query", "query_dir", required=True, type=LocalPath(path_type=Path, file_okay=False, exists=True),
              help="Query crops, named as Market-1501 names them (0002_c1s1_000451_03.jpg).")
@click.option("--gallery", "gallery_dir", required=True,
              type=LocalPath(path_type=Path, file_okay=False, exists=True), help="Gallery crops, named the same way.")
@click.option("--pack", default=None,
              help=f"The body pack to score: {', '.join(sorted(BODY_PACKS))}, or a folder `reid train` wrote "
                   "(default: the body_pack setting).")
@click.option("--rerank", is_flag=True, help="Also score with k-reciprocal re-ranking (Zhong et al. 2017).")
@click.option("--json", "as_json", is_flag=True, help="Print JSON for scripts.")
@click.pass_obj
@fail_clearly
def eval_command(obj: Context, query_dir: Path, gallery_dir: Path, pack: str | None, rerank: bool,
                 as_json: bool) -> None:
    """Rank-1, rank-5, rank-10 and mAP of a body pack with Market-1501's protocol: a query's own identity seen
    by its own camera is left out of its gallery, identity -1 (junk) is ignored, 0000 (distractors) stay."""
    settings = obj.settings()
    spec = body_pack(pack or settings.body_pack)
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


@reid_group.command("train")
@click.option("--data", "data_dir", required=True, type=LocalPath(path_type=Path, file_okay=False, exists=True),
              help="Person crops named as Market-1501 names them (identity and camera from each name).")
@click.option("--init", "init", type=LocalPath(path_type=Path, dir_okay=False, exists=True), default=None,
              help="torchreid weights to start from (a published OSNet checkpoint; default: untrained).")
@click.option("--to", "target", type=LocalPath(path_type=Path, file_okay=False), default=None,
              help="Where to write the weights, the ONNX export and the model card (default: "
                   "MODEL_DIR/reid-trained).")
@click.option("--architecture", type=click.Choice(ARCHITECTURES), default="osnet_x0_25", show_default=True)
@click.option("--epochs", type=click.IntRange(1, 1000), default=2, show_default=True)
@click.option("--batch", type=click.IntRange(8, 512), default=32, show_default=True,
              help="Crops a step: 4 of each of batch/4 identities.")
@click.option("--lr", "learning_rate", type=click.FloatRange(1e-7, 1.0), default=3e-4, show_default=True)
@click.option("--hold-out", type=click.IntRange(0, 10_000), default=50, show_default=True,
              help="The last identities of the data, never trained on: the model is scored on them before and "
                   "after (Market-1501's protocol).")
@click.option("--max-identities", type=click.IntRange(0, 100_000), default=0,
              help="Train on this many identities only (0: all), for a quick run.")
@click.option("--json", "as_json", is_flag=True, help="Print the model card as JSON.")
@click.pass_obj
@fail_clearly
def train_command(obj: Context, data_dir: Path, init: Path | None, target: Path | None, architecture: str,
                  epochs: int, batch: int, learning_rate: float, hold_out: int, max_identities: int,
                  as_json: bool) -> None:
    """Fine-tune torchreid OSNet on Market-layout crops (on the CPU), writing weights.pth, model.onnx and
    card.json side by side; PEOPLEGRAPH_BODY_PACK=<that folder> then finds bodies with it. Needs the
    reid-train extra (README)."""
    from peoplegraph.reid.training import train

    settings = obj.settings()
    target = target or settings.models_path / "reid-trained"
    with tqdm(unit="step", desc="train", file=sys.stderr) as bar:
        def progress(epoch: int, step: int, loss: float) -> None:
            bar.update(1)
            bar.set_postfix(epoch=epoch + 1, loss=f"{loss:.3f}", refresh=False)

        card = train(data_dir, target, init=init, architecture=architecture, epochs=epochs, batch=batch,
                     learning_rate=learning_rate, hold_out=hold_out, max_identities=max_identities,
                     threads=settings.threads, progress=progress)
    scored = "".join(f"\n  {when}: rank-1 {s['rank1']:.1%}  mAP {s['mAP']:.1%} ({int(s['queries'])} queries)"
                     for when, s in (("before", card.before), ("after", card.after)) if s)
    emit(as_json, asdict(card), f"{target}: {card.architecture} trained {card.epochs} epochs on {card.identities} "
         f"identities ({card.crops} crops) in {card.seconds:.0f} s; losses {card.losses}{scored}")


def body_matching_text(report: BodyMatchReport) -> str:
    return (f"bodies: {report.references} carry a person (by their face, or accepted); of {report.candidates} "
            f"without a usable face, {report.tagged} tagged by body, {report.queued} for review, "
            f"{report.without_window} in photos with neither an event nor a time (never matched by body); "
            f"{report.cleared} earlier body decisions taken back (a face decision now contradicts them, or a "
            "queued body no longer reaches review in its window; tags stay until undone or rejected)")


@reid_group.command("match")
@project_command()
def match_command(obj: Context, project: str, as_json: bool) -> None:
    """Match the bodies without a usable face to people, by the bodies of the same event or time window
    (body_auto_threshold, body_review_threshold, body_margin, body_time_window_h). Undoable (`undo`)."""
    with obj.runtime() as runtime:
        report = match_bodies(runtime, project)
        none = runtime.bodies.count(project) == 0
    emit(as_json, report.to_dict(), "no bodies in this project: ingest its photos again with bodies on "
         "(PEOPLEGRAPH_BODY_REID=true) to find them" if none else body_matching_text(report))


def _appearances_text(found: list[BodyAppearance], empty: str) -> str:
    rows = [f"{a.body_id:>20} {a.person_id:<24} {a.score or 0:.3f}  face "
            f"{'-' if a.face_score is None else f'{a.face_score:.3f}'}"
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


BODIES_ARGUMENT = click.argument("body_ids", nargs=-1, required=True, type=IdOf("body"))


@reid_group.command("accept")
@BODIES_ARGUMENT
@project_command(actor=True)
def accept_command(obj: Context, body_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """These queued bodies are the person suggested for them. Undoable."""
    _review(obj, project, body_ids, True, actor, as_json)


@reid_group.command("reject")
@BODIES_ARGUMENT
@project_command(actor=True)
def reject_command(obj: Context, body_ids: tuple[int, ...], project: str, actor: str, as_json: bool) -> None:
    """These queued bodies are not the person suggested for them (never suggested again). Undoable."""
    _review(obj, project, body_ids, False, actor, as_json)


def _review(obj: Context, project: str, body_ids: tuple[int, ...], accept: bool, actor: str, as_json: bool) -> None:
    with obj.runtime() as runtime:
        result = review_bodies(runtime, project, body_ids, accept=accept, actor=actor)
    emit(as_json, result.to_dict(), f"{result.action}: {len(result.bodies)} bodies")


COMMANDS = (reid_group,)
