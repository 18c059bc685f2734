"""Bodies in the library: person boxes tied to their faces, ingest with bodies (and
bodies added to a library ingested before), deletion, and body matching on real group photos whose people
hid their face (tagged or queued as the right person, never as a wrong one, never without a window)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from peoplegraph.observations.model import NO_FACE
from peoplegraph.reid.people import below_face_boxes, tie_faces

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
import body_fusion  # noqa: E402

PROJECT = body_fusion.PROJECT


def test_each_face_is_tied_to_the_body_it_heads() -> None:
    people = np.array([[100, 100, 200, 400], [180, 90, 300, 420], [500, 100, 600, 400]], np.float32)
    faces = np.array([[130, 110, 170, 160],  # the first person's head
                      [215, 100, 260, 150],  # the second's, inside the first's box too but at its edge
                      [530, 300, 570, 350]], np.float32)  # low in the third box: someone in front of them
    assert tie_faces(people, faces).tolist() == [0, 1, -1]
    assert tie_faces(people, np.zeros((0, 4))).tolist() == [-1, -1, -1]
    assert tie_faces(np.zeros((0, 4)), faces).tolist() == []


def test_the_body_below_a_face_starts_at_its_chin() -> None:
    people = np.array([[100, 100, 200, 400], [300, 100, 400, 200], [500, 100, 600, 400]], np.float32)
    faces = np.array([[130, 110, 170, 160], [330, 110, 370, 170]], np.float32)
    below = below_face_boxes(people, faces, np.array([0, 1, -1]))
    assert below[0].tolist() == [100, 160, 200, 400]
    assert np.isnan(below[1]).all()  # a head and shoulders: less than a face height under the face
    assert np.isnan(below[2]).all()  # no face


def test_body_matching_scores_each_body_against_its_own_window_only() -> None:
    """The same proposals as scoring every body without a face against every reference body, from a fraction
    of the pairs: a library of four match days compares each body with its own day's."""
    import body_matching_scale as scale

    from peoplegraph.linking.bodies import _proposals, _windows

    library, candidates, references = scale.library(4000, seed=3)
    photos = sorted(library.event_of)
    for photo in photos[::3]:  # photos with no event, or with no time, or neither
        del library.event_of[photo]
    for photo in photos[::4]:
        del library.hours_of[photo]
    people = sorted(set(library.face_person.values()))
    proposed = {index: (person, score, second)
                for score, second, index, person, _ in _proposals(library, candidates, references, people, 0.6, 6.0)}
    expected = scale.all_pairs(library, candidates, references, people, 0.6, 6.0)
    assert len(expected) > 500 and proposed.keys() == expected.keys()
    for index, (person, score, second) in expected.items():
        assert proposed[index][0] == person
        assert proposed[index][1:] == pytest.approx((score, second), abs=1e-4)
    scored = sum(eligible.size for _, _, eligible in _windows(library, candidates, references, 6.0))
    assert scored <= 0.3 * len(candidates) * len(references)


def _runtime(tmp_path: Path, model_dir: Path, shared_models: Path, **settings):
    return body_fusion.fusion_runtime(tmp_path / "data", shared_models, model_dir=model_dir, **settings)


def test_ingest_adds_bodies_to_a_library_ingested_without_them(tmp_path: Path, model_dir: Path,
                                                               shared_data: Path, shared_models: Path) -> None:
    from peoplegraph.services.ingest import IngestService, PhotoSource
    from peoplegraph.services.projects import delete_photo

    photos = sorted((shared_data / "faces-misc" / "group-photos").glob("dlib_2008_00*.jpg"))[:4]
    sources = [PhotoSource.of_file(p) for p in photos]
    with _runtime(tmp_path, model_dir, shared_models, body_reid=False) as runtime:
        first = IngestService(runtime).ingest("team", sources)
        assert first.new_photos == 4 and first.bodies == 0 and runtime.bodies.count("team") == 0
    with _runtime(tmp_path, model_dir, shared_models) as runtime:
        again = IngestService(runtime).ingest("team", sources)
        assert again.new_photos == 0 and again.bodies > 4, again
        bodies = runtime.bodies.bodies("team")
        assert len(bodies) == again.bodies and {b.photo_id for b in bodies} <= set(again.photo_ids)
        faces = {f.face_id: f for f in runtime.vectors.faces("team")}
        tied = [b for b in bodies if b.face_id != NO_FACE]
        assert tied and all(b.face_id in faces and faces[b.face_id].photo_id == b.photo_id for b in tied)
        for body in tied:  # the face lies in the top of its body's box
            x1, y1, x2, y2 = faces[body.face_id].box
            assert body.box[0] <= (x1 + x2) / 2 <= body.box[2] and body.box[1] <= (y1 + y2) / 2 <= body.box[3]
        embedded = runtime.bodies.bodies("team", with_embeddings=True)
        below = [b for b in embedded if b.below_face is not None]
        assert below and all(b.face_id != NO_FACE for b in below)
        for body in below:  # its own crop, not the whole body's again
            assert abs(np.linalg.norm(body.below_face) - 1) < 1e-3 and float(body.below_face @ body.embedding) < 0.99
        assert runtime.graph.body_scanned("team", runtime.body_scanner.model_id) == set(again.photo_ids)
        assert IngestService(runtime).ingest("team", sources).bodies == 0  # looked at once
        assert runtime.bodies.count("team") == len(bodies)
        gone = bodies[0].photo_id
        delete_photo(runtime, "team", gone)
        assert gone not in {b.photo_id for b in runtime.bodies.bodies("team")}


@pytest.mark.slow
def test_people_whose_face_is_hidden_are_found_by_body_within_an_event(tmp_path: Path, model_dir: Path,
                                                                       shared_data: Path, shared_models: Path) -> None:
    from peoplegraph.linking.bodies import body_appearances, match_bodies, review_bodies
    from peoplegraph.linking.service import undo

    copies = tmp_path / "copies"
    copies.mkdir()
    with _runtime(tmp_path, model_dir, shared_models) as runtime:
        hidden, without, without_report, found, report = body_fusion.run(
            runtime, copies, shared_data / "faces-misc" / "group-photos")
        assert len(hidden) >= 12
        assert without_report["tagged"] == 0 and not without.get("tagged") and not without.get("wrong")
        assert not found.get("wrong"), found
        right = len(found.get("tagged", [])) + len(found.get("queued", []))
        assert right >= 0.65 * len(hidden), found  # bench/body_fusion.py measures it against the 90 % target
        assert found.get("tagged")
        tagged = body_appearances(runtime, PROJECT)
        queued = body_appearances(runtime, PROJECT, status="queued")
        assert tagged and all(a.score >= runtime.settings.body_auto_threshold and a.references for a in tagged)
        assert all(runtime.settings.body_review_threshold <= a.score for a in queued)
        # a second run decides nothing again
        assert match_bodies(runtime, PROJECT).tagged == 0
        if queued:
            first = queued[0]
            review_bodies(runtime, PROJECT, [first.body_id], accept=True, actor="editor")
            mine = body_appearances(runtime, PROJECT, first.person_id)
            assert any(a.body_id == first.body_id and a.actor == "editor" for a in mine)
            latest = runtime.graph.latest_action(PROJECT)
            again = review_bodies(runtime, PROJECT, [first.body_id], accept=True, actor="editor")
            assert again.bodies == [] and runtime.graph.latest_action(PROJECT) == latest  # no action to undo first
            undo(runtime, PROJECT)
            assert first.body_id in {a.body_id for a in body_appearances(runtime, PROJECT, status="queued")}
        # an editor corrects a tag: never that person for that body again, even when matched again
        wrong = tagged[0]
        review_bodies(runtime, PROJECT, [wrong.body_id], accept=False, actor="editor")
        assert wrong.body_id not in {a.body_id for a in body_appearances(runtime, PROJECT)}
        latest = runtime.graph.latest_action(PROJECT)
        assert review_bodies(runtime, PROJECT, [wrong.body_id], accept=False, actor="editor").bodies == []
        assert runtime.graph.latest_action(PROJECT) == latest  # rejecting it again changes nothing
        with pytest.raises(ValueError, match=f"rejected already, as {wrong.person_id}: nothing to accept"):
            review_bodies(runtime, PROJECT, [wrong.body_id], accept=True, actor="editor")
        match_bodies(runtime, PROJECT)
        assert all(a.person_id != wrong.person_id for a in body_appearances(runtime, PROJECT, status="queued")
                   + body_appearances(runtime, PROJECT) if a.body_id == wrong.body_id)
        if runtime.graph.latest_action(PROJECT).action == "body-match":  # it found someone else for it
            undo(runtime, PROJECT)
        undone = undo(runtime, PROJECT)  # the rejection, told in bodies
        assert undone.bodies == [wrong.body_id] and undone.faces == [] and undone.clustering is None
        assert wrong.body_id in {a.body_id for a in body_appearances(runtime, PROJECT)}
        with pytest.raises(ValueError, match="neither tagged nor queued"):
            review_bodies(runtime, PROJECT, [12345], accept=False)
        with pytest.raises(ValueError, match="no body id given"):
            review_bodies(runtime, PROJECT, [], accept=False)
        undo(runtime, PROJECT)  # the body-match run
        assert not body_appearances(runtime, PROJECT)
        # what an ingest runs: the copies' bodies only, against the photos of their window alone
        copies_ids = [p.photo_id for p in runtime.graph.photos(PROJECT) if p.path.startswith(str(copies))]
        scoped = match_bodies(runtime, PROJECT, copies_ids)
        assert {a.body_id for a in body_appearances(runtime, PROJECT)} == {a.body_id for a in tagged}
        assert scoped.tagged == len(tagged) and scoped.queued == len(queued)


def test_a_body_whose_head_is_cut_away_is_matched_below_the_face(tmp_path: Path, model_dir: Path,
                                                                  shared_data: Path, shared_models: Path) -> None:
    """Where a grey patch hides a head, the detector boxes the body from the shoulders down: closer to the
    reference's body below its face than to the whole of it, which is what lets it be matched."""
    from peoplegraph.linking.bodies import body_appearances

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("fr_two_people.jpg", "fr_kit_with_rose.jpg"):
        shutil.copy(shared_data / "faces-misc" / "group-photos" / name, photos / name)
    copies = tmp_path / "copies"
    copies.mkdir()
    with _runtime(tmp_path, model_dir, shared_models) as runtime:
        hidden, _, _, found, _ = body_fusion.run(runtime, copies, photos, everyone=True, hidings=("grey patch",))
        assert not found.get("wrong"), found
        headless = [c for c in hidden if c.copy in set(found.get("tagged", []) + found.get("queued", []))]
        assert headless, found
        by_copy = {Path(p.path).name: p.photo_id for p in runtime.graph.photos(PROJECT)}
        appearances = {a.body_id: a for status in ("tagged", "queued")
                       for a in body_appearances(runtime, PROJECT, status=status)}
        lifted = 0
        for case in headless:
            body = next(b for b in runtime.bodies.bodies(PROJECT, photo_ids=[by_copy[case.copy]], with_embeddings=True)
                        if b.body_id in appearances and appearances[b.body_id].person_id == case.person_id)
            reference = runtime.bodies.bodies_by_id(PROJECT, [appearances[body.body_id].references[0]],
                                                    with_embeddings=True)[0]
            assert reference.below_face is not None
            whole, below = float(body.embedding @ reference.embedding), float(body.embedding @ reference.below_face)
            assert appearances[body.body_id].score == pytest.approx(max(whole, below), abs=1e-4)
            lifted += below > max(whole, runtime.settings.body_review_threshold) > whole
        assert lifted, "no headless body was matched through the part below a reference's face"


def test_people_found_by_body_are_named_in_xmp_without_a_face_region(tmp_path: Path, model_dir: Path,
                                                                      shared_data: Path, shared_models: Path) -> None:
    """A photo manager searching a player's name finds the photos where their back is turned: XMP names the
    people tagged by body (PersonInImage, keywords) with no face region drawn; not those only queued, and not
    hidden or private people."""
    from peoplegraph.linking.bodies import body_appearances, review_bodies
    from peoplegraph.linking.people import edit_person
    from peoplegraph.metadata.xmp import read_people
    from peoplegraph.services.xmp import export_xmp

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("fr_two_people.jpg", "fr_kit_with_rose.jpg", "dlib_2008_004176.jpg"):
        shutil.copy(shared_data / "faces-misc" / "group-photos" / name, photos / name)
    copies = tmp_path / "copies"
    copies.mkdir()
    with _runtime(tmp_path, model_dir, shared_models) as runtime:
        body_fusion.run(runtime, copies, photos, everyone=True, hidings=("blurred",))
        tagged, queued = body_appearances(runtime, PROJECT), body_appearances(runtime, PROJECT, status="queued")
        assert len(tagged) >= 2 and queued, (tagged, queued)
        private = tagged[-1].person_id
        edit_person(runtime, PROJECT, private, visibility="private")
        names = {p.person_id: p.name for p in runtime.graph.people(PROJECT)}
        path_of = {p.photo_id: Path(p.path) for p in runtime.graph.photos(PROJECT)}
        written = export_xmp(runtime, PROJECT, to=tmp_path / "xmp")
        assert not written.skipped, written.skipped
        one = export_xmp(runtime, PROJECT, person_id=tagged[0].person_id, to=tmp_path / "one")
        assert path_of[tagged[0].photo_id].name + ".xmp" in {Path(p).name for p in one.written}
        # beside the photos, then again once a tag is rejected and a person hidden: their names leave
        export_xmp(runtime, PROJECT)
        rejected = tagged[0]
        hidden = next(a for a in tagged if a.person_id not in (private, rejected.person_id))
        beside = {a.body_id: path_of[a.photo_id].with_name(path_of[a.photo_id].name + ".xmp") for a in tagged}
        assert names[hidden.person_id] in read_people(beside[hidden.body_id].read_bytes()).names_without_region
        review_bodies(runtime, PROJECT, [rejected.body_id], accept=False, actor="editor")
        edit_person(runtime, PROJECT, hidden.person_id, visibility="hidden")
        export_xmp(runtime, PROJECT)
        for gone in (rejected, hidden):
            left = read_people(beside[gone.body_id].read_bytes())
            assert names[gone.person_id] not in left.names_without_region + [r.name for r in left.regions]
    for appearance in tagged + queued:
        # in the photo's own folder below the photos' common one
        sidecar = next((tmp_path / "xmp").rglob(path_of[appearance.photo_id].name + ".xmp"), None)
        people = read_people(sidecar.read_bytes()) if sidecar is not None else None
        name = names[appearance.person_id]
        if appearance.status == "tagged" and appearance.person_id != private:
            assert people is not None and name in people.names_without_region, (sidecar, people)
            assert name not in {r.name for r in people.regions}
            packet = sidecar.read_text("utf-8")
            assert f"People|{name}" in packet and f"People/{name}" in packet  # Lightroom's and digiKam's keywords
        else:  # queued, or private: never written
            assert people is None or name not in people.names_without_region + [r.name for r in people.regions]


def _with_time(source: Path, target: Path, taken: str, hide=None) -> None:
    """A copy of the photo carrying an EXIF DateTimeOriginal (one face hidden first, with `hide`)."""
    import cv2
    from PIL import Image

    image = cv2.imread(str(source))
    if hide is not None:
        image = hide(image)
    exif = Image.Exif()
    exif.get_ifd(0x8769)[0x9003] = taken  # Exif IFD, DateTimeOriginal
    Image.fromarray(image[:, :, ::-1]).save(target, exif=exif, quality=92)


@pytest.mark.slow
def test_bodies_are_matched_within_hours_of_each_other_not_across_days(tmp_path: Path, model_dir: Path,
                                                                       shared_data: Path, shared_models: Path) -> None:
    from peoplegraph.linking.bodies import body_appearances, match_bodies
    from peoplegraph.linking.matching import match_new_faces
    from peoplegraph.linking.service import NamedFace, name_faces
    from peoplegraph.services.ingest import IngestService, PhotoSource

    names = ("fr_two_people.jpg", "fr_kit_with_rose.jpg", "openface_longoria-cooper.jpg", "dlib_2008_004176.jpg")
    shots, later = tmp_path / "shots", tmp_path / "later"
    shots.mkdir(), later.mkdir()
    for name in names:
        _with_time(shared_data / "faces-misc" / "group-photos" / name, shots / name, "2026:06:01 10:00:00")
    with _runtime(tmp_path, model_dir, shared_models) as runtime:
        first = IngestService(runtime).ingest(PROJECT, [PhotoSource.of_file(p) for p in sorted(shots.iterdir())])
        faces = runtime.vectors.faces_by_id(PROJECT, first.face_ids)
        named = name_faces(runtime, PROJECT, [NamedFace(f.face_id, f"p{i}", "") for i, f in enumerate(faces)],
                           action="name")
        person_of = {f.face_id: named.person_ids[f"p{i}"] for i, f in enumerate(faces)}
        hidden = {}
        for name in names:
            photo = next(p for p in runtime.graph.photos(PROJECT) if p.path.endswith(name))
            body = max((b for b in runtime.bodies.bodies(PROJECT, photo_ids=[photo.photo_id]) if b.face_id in person_of),
                       key=lambda b: (b.box[2] - b.box[0]) * (b.box[3] - b.box[1]))
            face = next(f for f in faces if f.face_id == body.face_id)
            for when, folder in (("2026:06:01 11:30:00", shots), ("2026:06:02 16:00:00", later)):
                copy = folder / f"hidden-{name}"
                _with_time(shared_data / "faces-misc" / "group-photos" / name, copy, when,
                           lambda image, box=face.box: body_fusion._hide(image, box, "blurred"))
                hidden[copy.name, folder.name] = (body.box, person_of[body.face_id])
        copies = [PhotoSource.of_file(p) for p in sorted(shots.glob("hidden-*")) + sorted(later.iterdir())]
        report = IngestService(runtime).ingest(PROJECT, copies)
        match_new_faces(runtime, PROJECT, report.face_ids)
        match_bodies(runtime, PROJECT, report.photo_ids)  # as ingest runs it: within the new photos' windows
        found = {a.body_id: a for status in ("tagged", "queued")
                 for a in body_appearances(runtime, PROJECT, status=status)}
        photo_of = {p.photo_id: Path(p.path) for p in runtime.graph.photos(PROJECT)}
        right = []
        for body in (runtime.bodies.bodies_by_id(PROJECT, sorted(found))):
            path = photo_of[body.photo_id]
            assert path.parent == shots, f"{path}: matched by body across days"
            box, person = hidden[path.name, "shots"]
            assert found[body.body_id].person_id == person, f"{path}: matched as the wrong person"
            right.append(path.name)
        assert len(right) >= len(names) - 1, right


def test_body_appearances_over_rest_graphql_and_the_cli(tmp_path: Path, model_dir: Path, shared_data: Path,
                                                        shared_models: Path) -> None:
    from litestar.testing import TestClient

    from peoplegraph.api.app import create_app
    from peoplegraph.identity.records import EventRecord
    from peoplegraph.linking.bodies import BODY_METHOD, MATCHER, body_appearances
    from peoplegraph.identity.records import FaceDecision, now
    from cli_runner import cli_json, run_cli
    from conftest import upload_photos

    photos = tmp_path / "photos"
    photos.mkdir()
    for name in ("fr_two_people.jpg", "fr_kit_with_rose.jpg"):
        shutil.copy(shared_data / "faces-misc" / "group-photos" / name, photos / name)
    with _runtime(tmp_path, model_dir, shared_models) as runtime:
        body_fusion.hidden_face_set(runtime, tmp_path, photos)
        bodies = runtime.bodies.bodies(PROJECT)
        loose, other = [b for b in bodies if b.face_id == NO_FACE][:2]
        faces = {f.face_id: f for f in runtime.vectors.faces(PROJECT)}
        person = next(d.confirmed_as for f, d in runtime.graph.face_decisions(PROJECT).items()  # not in their photos
                      if d.confirmed_as and f in faces and faces[f].photo_id not in {loose.photo_id, other.photo_id})
        runtime.graph.add_event(EventRecord(PROJECT, "day", "Day"))
        runtime.graph.set_photo_event(PROJECT, [b.photo_id for b in bodies], "day")
        # one body decision written as body matching writes it, to read it back through every edge
        runtime.graph.set_face_decisions(PROJECT, [FaceDecision(
            loose.body_id, confirmed_as=person, method=BODY_METHOD, actor=MATCHER, score=0.91,
            references=(bodies[0].body_id,), face_score=None, decided_at=now()), FaceDecision(
            other.body_id, suggested_as=person, method=BODY_METHOD, actor=MATCHER, score=0.7,
            references=(bodies[0].body_id,), decided_at=now())], action="body-match")
        assert [a.body_id for a in body_appearances(runtime, PROJECT, person)] == [loose.body_id]
    settings = runtime.settings
    with TestClient(app=create_app(settings)) as client:
        client.headers["Authorization"] = f"Bearer {client.app.state.first_admin_key}"
        uploaded = upload_photos(client, PROJECT, [shared_data / "faces-misc" / "group-photos" / "dlib_2008_004176.jpg"])
        assert uploaded["state"] == "complete", uploaded
        assert uploaded["result"]["bodies"] > 0 and uploaded["result"]["body_matching"]["without_window"] >= 0
        assert "matching bodies" in {stage["stage"] for stage in uploaded["result"]["stages"]}
        answer = client.get(f"/projects/{PROJECT}/bodies", params={"person_id": person})
        assert answer.status_code == 200, answer.text
        [shown] = answer.json()
        assert shown["body_id"] == str(loose.body_id) and shown["score"] == 0.91 and shown["face_id"] is None
        assert shown["references"] == [str(bodies[0].body_id)] and answer.headers["X-Total-Count"] == "1"
        assert client.get(f"/projects/{PROJECT}/bodies", params={"status": "maybe"}).status_code == 400
        assert client.get(f"/projects/{PROJECT}/bodies", params={"person_id": "nobody"}).status_code == 404
        refused = client.post(f"/projects/{PROJECT}/bodies/review", json={"body_ids": ["12x"], "accept": True})
        assert refused.status_code == 400 and "body_ids" in refused.text
        unknown = client.post(f"/projects/{PROJECT}/bodies/review", json={"body_ids": ["999"], "accept": True})
        assert unknown.status_code == 400 and "neither tagged nor queued" in unknown.text  # as /review for faces
        query = ('query($p: String!, $id: String!) { person(project: $p, id: $id) { bodyAppearances '
                 '{ bodyId score referenceBodyIds faceScore box { x1 } } } }')
        answer = client.post("/graphql", json={"query": query, "variables": {"p": PROJECT, "id": person}})
        assert answer.json()["data"]["person"]["bodyAppearances"][0]["bodyId"] == str(loose.body_id), answer.text
        queue = client.post("/graphql", json={"query": "query($p: String!) { bodyReviewQueue(project: $p) { bodyId "
                                                       "status score } }", "variables": {"p": PROJECT}})
        assert queue.json()["data"]["bodyReviewQueue"] == [{"bodyId": str(other.body_id), "status": "queued",
                                                            "score": 0.7}], queue.text
        refused = client.post("/graphql", json={"query": 'mutation { reviewBodies(project: "%s", bodyIds: ["999"], '
                                                         'accept: true) }' % PROJECT})
        assert "neither tagged nor queued" in refused.text and "BAD_REQUEST" in refused.text
    [listed] = cli_json(settings, "reid", "appearances", "--project", PROJECT, "--person", person)
    assert listed["body_id"] == str(loose.body_id) and listed["score"] == 0.91  # a string: 63-bit
    [waiting] = cli_json(settings, "reid", "queue", "--project", PROJECT)
    assert waiting["body_id"] == str(other.body_id) and waiting["status"] == "queued"
    accepted = cli_json(settings, "reid", "accept", "--project", PROJECT, str(other.body_id), "--actor", "ed")
    assert accepted["bodies"] == [str(other.body_id)] and accepted["person_id"] == person
    undone = cli_json(settings, "undo", "--project", PROJECT)  # told in bodies: no face moved, nothing re-clustered
    assert undone["action"] == "undo accept bodies" and undone["bodies"] == [str(other.body_id)], undone
    assert undone["faces"] == [] and undone["clustering"] is None
    again = run_cli(settings, "reid", "accept", "--project", PROJECT, str(other.body_id), "--actor", "ed")
    assert again.returncode == 0, again.stderr
    said = run_cli(settings, "undo", "--project", PROJECT).stdout
    assert said.strip() == "undo accept bodies: 1 body(ies)", said
    run_cli(settings, "reid", "accept", "--project", PROJECT, str(other.body_id), "--actor", "ed")
    shown = cli_json(settings, "reid", "appearances", "--project", PROJECT, "--person", person)
    assert [a["body_id"] for a in shown] == [str(loose.body_id), str(other.body_id)] and shown[1]["actor"] == "ed"
    matched = cli_json(settings, "reid", "match", "--project", PROJECT)  # nothing contradicts these two
    assert matched["cleared"] == 0 and matched["references"] >= 1
    after = cli_json(settings, "reid", "appearances", "--project", PROJECT, "--person", person)
    assert {str(loose.body_id), str(other.body_id)} <= {a["body_id"] for a in after}  # it may find more of them
    assert cli_json(settings, "people", "show", person, "--project", PROJECT)["found_by_body"]["tagged"] == len(after)
    # a selfie of that person finds the photos they were tagged in by body too, after those found by face
    with _runtime(tmp_path, model_dir, shared_models) as runtime:
        face = next(f for f, d in runtime.graph.face_decisions(PROJECT, identities=[person]).items()
                    if d.confirmed_as == person and d.method != BODY_METHOD)
        [observed] = runtime.vectors.faces_by_id(PROJECT, [face])
        photo = next(p for p in runtime.graph.photos(PROJECT) if p.photo_id == observed.photo_id)
    x1, y1, x2, y2 = observed.box
    grow = max(x2 - x1, y2 - y1)
    image = cv2.imread(photo.path)
    selfie = tmp_path / "selfie.jpg"
    cv2.imwrite(str(selfie), image[max(0, int(y1 - grow)):int(y2 + grow), max(0, int(x1 - grow)):int(x2 + grow)])
    found = cli_json(settings, "--body-reid", "true", "search", str(selfie), "--project", PROJECT)["photos"]
    by_body = [m for m in found if m["via"] == "body"]
    assert {m["body_id"] for m in by_body} >= {str(loose.body_id), str(other.body_id)}, found
    assert all(m["face_id"] is None for m in by_body) and found[-len(by_body):] == by_body
    assert not {m["photo_id"] for m in by_body} & {m["photo_id"] for m in found if m["via"] != "body"}
    without = cli_json(settings, "search", str(selfie), "--project", PROJECT)["photos"]  # body ReID off: faces only
    assert without == [m for m in found if m["via"] != "body"]
