"""Editor actions (linking/service.py) on real photos: confirm, remove, ignore, reset; nothing is lost."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from peoplegraph.linking import service as linking
from peoplegraph.linking.people import edit_person
from peoplegraph.services.clustering import cluster_project
from peoplegraph.services.ingest import IngestReport, IngestService, collect_sources
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings

PROJECT = "film"


@pytest.fixture
def cast(shared_data: Path) -> dict[str, list[Path]]:
    lfw = shared_data / "lfw-devtrain"
    return {name: sorted((lfw / folder).glob("*.jpg"))[:count]
            for name, folder, count in (("colin", "Colin_Powell", 8), ("tony", "Tony_Blair", 5),
                                        ("hugo", "Hugo_Chavez", 4))}


def _main_faces(runtime: Runtime, photos: list[Path]):
    """The largest face of each photo (LFW photos show their person largest; others are bystanders)."""
    ids = {hashlib.sha256(p.read_bytes()).hexdigest() for p in photos}
    largest = {}
    for face in runtime.vectors.faces(PROJECT):
        area = (face.box[2] - face.box[0]) * (face.box[3] - face.box[1])
        if face.photo_id in ids and (face.photo_id not in largest or area > largest[face.photo_id][0]):
            largest[face.photo_id] = (area, face)
    return [face for _, face in largest.values()]


def _cluster_of(runtime: Runtime, photos: list[Path]) -> set[int]:
    return {f.cluster_id for f in _main_faces(runtime, photos)}


def _faces_of(runtime: Runtime, photos: list[Path]) -> list[int]:
    return [f.face_id for f in _main_faces(runtime, photos)]


def test_confirm_remove_ignore_and_reset_keep_every_decision(app_settings: Settings, cast) -> None:
    with Runtime(app_settings) as runtime:
        ingest = IngestService(runtime)
        ingest.ingest(PROJECT, collect_sources(cast["colin"][:5] + cast["tony"] + cast["hugo"], IngestReport()))
        cluster_project(runtime, PROJECT)
        (colin_cluster,) = _cluster_of(runtime, cast["colin"][:5])
        confirmed = linking.confirm_cluster(runtime, PROJECT, colin_cluster, name="Colin Powell", actor="ed")
        assert confirmed.person_id == "colin-powell" and len(confirmed.faces) == 5
        wrong = _faces_of(runtime, cast["colin"][:1])[0]
        linking.remove_faces(runtime, PROJECT, [wrong], actor="ed")  # the editor says this one is not Colin
        (hugo_cluster,) = _cluster_of(runtime, cast["hugo"])
        linking.ignore_cluster(runtime, PROJECT, hugo_cluster, actor="ed")
        decisions = runtime.graph.face_decisions(PROJECT)
        assert decisions[wrong].removed_from == {"colin-powell"} and decisions[wrong].confirmed_as is None
        assert decisions[wrong].actor == "ed" and decisions[wrong].decided_at.endswith("Z")

        def check() -> None:
            colin_now = _cluster_of(runtime, cast["colin"][1:5])
            assert len(colin_now) == 1 and -1 not in colin_now
            named = {c.cluster_id: c.person_id for c in runtime.graph.clusters(PROJECT) if c.person_id}
            assert named == {next(iter(colin_now)): "colin-powell"}
            faces_now = {f.face_id: f.cluster_id for f in runtime.vectors.faces(PROJECT)}
            assert faces_now[wrong] not in colin_now
            assert _cluster_of(runtime, cast["hugo"]) == {-1}
            people = {p.person_id: p for p in runtime.graph.people(PROJECT)}
            shown = {f.photo_id for f in runtime.vectors.faces(PROJECT) if f.cluster_id in colin_now}
            assert people["colin-powell"].name == "Colin Powell" and people["colin-powell"].photo_count == len(shown)

        check()
        linking.reset(runtime, PROJECT)
        check()
        # undo, last first: the reset (an action too, so that undo never skips past it), the ignore, then the
        # removal; each time the clusters follow
        assert linking.undo(runtime, PROJECT).action == "undo reset"
        assert linking.undo(runtime, PROJECT).action == "undo ignore"
        assert -1 not in _cluster_of(runtime, cast["hugo"])  # Hugo's faces are clustered again
        assert linking.undo(runtime, PROJECT).action == "undo remove"
        back = runtime.graph.face_decisions(PROJECT)[wrong]  # confirmed with its cluster before the removal
        assert back.confirmed_as == "colin-powell" and not back.removed_from
        hugo_faces = _faces_of(runtime, cast["hugo"])
        linking.ignore_cluster(runtime, PROJECT, _cluster_of(runtime, cast["hugo"]).pop(), actor="ed")
        assert {d.face_id for d in linking.ignored_faces(runtime, PROJECT)} >= set(hugo_faces)
        linking.unignore_faces(runtime, PROJECT, hugo_faces, actor="ed")  # un-ignored: clustered again
        assert -1 not in _cluster_of(runtime, cast["hugo"]) and not linking.ignored_faces(runtime, PROJECT)
        with pytest.raises(ValueError, match="not ignored"):
            linking.unignore_faces(runtime, PROJECT, hugo_faces)
        linking.undo(runtime, PROJECT)
        linking.undo(runtime, PROJECT)  # the un-ignore and the ignore
        # and done again, so the rest of the scenario runs on the same decisions
        linking.remove_faces(runtime, PROJECT, [wrong], actor="ed")
        (hugo_cluster,) = _cluster_of(runtime, cast["hugo"])
        linking.ignore_cluster(runtime, PROJECT, hugo_cluster, actor="ed")
        check()
        # more photos of the same people: new Colin faces join his named cluster, Hugo stays ignored
        ingest.ingest(PROJECT, collect_sources(cast["colin"][5:], IngestReport()))
        cluster_project(runtime, PROJECT, mode="missing")
        check()
        assert _cluster_of(runtime, cast["colin"][5:]) == _cluster_of(runtime, cast["colin"][1:5])
        (tony_now,) = _cluster_of(runtime, cast["tony"])
        again = linking.confirm_cluster(runtime, PROJECT, tony_now, person_id="colin-powell")
        assert again.person_id == "colin-powell"  # an existing person by id: two clusters, one person
        assert {p.person_id for p in runtime.graph.people(PROJECT)} == {"colin-powell"}


def test_bad_linking_requests_are_refused_with_the_reason(app_settings: Settings, cast) -> None:
    with Runtime(app_settings) as runtime:
        IngestService(runtime).ingest(PROJECT, collect_sources(cast["tony"], IngestReport()))
        cluster_project(runtime, PROJECT)
        (tony_cluster,) = _cluster_of(runtime, cast["tony"])
        with pytest.raises(ValueError, match="cluster: no cluster 99"):
            linking.confirm_cluster(runtime, PROJECT, 99, name="Nobody")
        with pytest.raises(ValueError, match="one of the two: both were given"):
            linking.confirm_cluster(runtime, PROJECT, tony_cluster, name="Tony", person_id="tony")
        with pytest.raises(ValueError, match="no person 'tony'"):
            linking.confirm_cluster(runtime, PROJECT, tony_cluster, person_id="tony")
        faces = _faces_of(runtime, cast["tony"])
        with pytest.raises(ValueError, match="at least two different clusters"):
            linking.merge_clusters(runtime, PROJECT, [tony_cluster, tony_cluster])
        with pytest.raises(ValueError, match="no cluster 98"):
            linking.merge_clusters(runtime, PROJECT, [tony_cluster, 98])
        with pytest.raises(ValueError, match="some but not all"):
            linking.split_cluster(runtime, PROJECT, tony_cluster, faces)
        with pytest.raises(ValueError, match="12345 not in cluster"):
            linking.split_cluster(runtime, PROJECT, tony_cluster, [faces[0], 12345])
        with pytest.raises(ValueError, match="no face 12345"):
            linking.remove_faces(runtime, PROJECT, [12345])
        assert runtime.graph.face_decisions(PROJECT) == {}  # nothing half-written
        with pytest.raises(ValueError, match="nothing to undo"):
            linking.undo(runtime, PROJECT)


def test_cli_confirm_and_people_list(app_settings: Settings, cast, tmp_path: Path) -> None:
    folder = tmp_path / "stills"
    folder.mkdir()
    for photo in cast["tony"]:
        (folder / photo.name).symlink_to(photo)
    env = dict(os.environ, PEOPLEGRAPH_DATA_DIR=str(app_settings.data_dir),
               PEOPLEGRAPH_MODEL_DIR=str(app_settings.models_path))

    def cli(*args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, "-m", "peoplegraph.cli", *args], env=env, capture_output=True,
                              text=True, timeout=600)

    assert cli("ingest", str(folder), "--project", PROJECT, "--json").returncode == 0
    (listed,) = json.loads(cli("clusters", "list", "--project", PROJECT, "--json").stdout)
    done = cli("clusters", "confirm", str(listed["id"]), "--project", PROJECT, "--name", "Tony Blair", "--json")
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout)["person_id"] == "tony-blair"
    people = json.loads(cli("people", "list", "--project", PROJECT, "--json").stdout)
    assert people == [{"id": "tony-blair", "name": "Tony Blair", "born": None, "clusters": [listed["id"]], "photos": 5,
                       "visibility": "normal"}]
    shown = json.loads(cli("people", "show", "tony-blair", "--project", PROJECT, "--json", "--limit", "3").stdout)
    assert shown["name"] == "Tony Blair" and len(shown["photos"]) == 3 and shown["appears_with"] == []
    assert shown["photo_count"] == 5
    text = cli("people", "show", "tony-blair", "--project", PROJECT, "--limit", "2", "--offset", "2").stdout
    assert "clusters [" in text and ", 5 photos" in text and "photos 3..4:" in text
    assert all(face["method"] == "confirmed" for photo in shown["photos"] for face in photo["faces"])
    bio = tmp_path / "bio.md"
    bio.write_text("# Tony Blair\n\nPrime Minister, *1997-2007*.\n", encoding="utf-8")
    edited = cli("people", "edit", "tony-blair", "--project", PROJECT, "--born", "1953-05-06", "--bio-file", str(bio),
                 "--alias", "Anthony Blair", "--external-id", "wikidata=Q9545", "--json")
    assert edited.returncode == 0, edited.stderr[-2000:]
    assert {k: v for k, v in json.loads(edited.stdout).items() if k in ("born", "aliases", "external_ids", "biography")} \
        == {"born": "1953-05-06", "aliases": ["Anthony Blair"], "external_ids": {"wikidata": "Q9545"},
            "biography": bio.read_text(encoding="utf-8")}
    bad = cli("people", "edit", "tony-blair", "--project", PROJECT, "--born", "May 1953")
    assert bad.returncode != 0 and "born" in bad.stderr and "Traceback" not in bad.stderr
    bio.write_bytes(b"\xff\xfe not text")
    bad = cli("people", "edit", "tony-blair", "--project", PROJECT, "--bio-file", str(bio))
    assert bad.returncode != 0 and "bio-file" in bad.stderr and "Traceback" not in bad.stderr
    for command in (("organisations", "add", "labour", "--name", "Labour Party", "--kind", "party"),
                    ("people", "join", "tony-blair", "labour", "--role", "leader", "--since", "1994-07",
                     "--until", "2007-06"),
                    ("events", "add", "pmqs", "--name", "Questions", "--date", "2003"),
                    ("events", "tag", "pmqs", shown["photos"][0]["photo_id"])):
        done = cli(*command, "--project", PROJECT, "--json")
        assert done.returncode == 0, done.stderr[-2000:]
    members = json.loads(cli("organisations", "members", "labour", "--since", "2000", "--until", "2000", "--project",
                             PROJECT, "--json").stdout)
    assert [(m["person_id"], m["role"]) for m in members] == [("tony-blair", "leader")]
    assert json.loads(cli("organisations", "members", "labour", "--since", "2008", "--project", PROJECT,
                          "--json").stdout) == []
    page = json.loads(cli("people", "show", "tony-blair", "--project", PROJECT, "--json").stdout)
    assert [m["organisation"] for m in page["memberships"]] == ["Labour Party"]
    assert [(e["id"], e["photos"]) for e in page["events"]] == [("pmqs", 1)]
    # photos named as a photographer has them: a folder (other files beside the photos are passed over), or the
    # start of an id as `reid appearances` prints it
    (folder / "notes.txt").write_text("the shoot's notes")
    assert json.loads(cli("events", "tag", "pmqs", str(folder), "--project", PROJECT, "--json").stdout)["photos"] == 5
    later = folder / "later.jpg"  # a photo put in the folder after its ingest: named, not silently passed over
    later.write_bytes(next(folder.glob("*.jpg")).read_bytes() + b"\0")
    tagged = cli("events", "tag", "pmqs", str(folder), "--project", PROJECT)
    assert tagged.returncode == 0 and "5 photos at pmqs" in tagged.stdout, tagged.stderr[-2000:]
    assert f"1 photo file(s) in those folders are not in project {PROJECT!r}" in tagged.stdout and "later.jpg" in tagged.stdout
    later.unlink()
    short = cli("events", "tag", "pmqs", shown["photos"][1]["photo_id"][:12].upper(), "--project", PROJECT, "--json")
    assert short.returncode == 0 and json.loads(short.stdout)["photos"] == 1, short.stderr[-2000:]
    too_short = cli("events", "tag", "pmqs", shown["photos"][1]["photo_id"][:7], "", "--project", PROJECT)
    assert too_short.returncode != 0 and "too short: give 8 or more characters" in too_short.stderr
    assert "'' (an empty name)" in too_short.stderr  # an unset "$DIR" is never the current folder
    assert "no project 'nowhere'" in cli("events", "tag", "pmqs", str(folder), "--project", "nowhere").stderr
    empty = cli("ingest", "", "--project", "typo")
    assert empty.returncode != 0 and "an empty path" in empty.stderr
    typo = cli("ingest", str(tmp_path / "no-such-folder"), "--project", "typo")
    assert typo.returncode != 0 and "no-such-folder: no such file or folder; nothing was ingested" in typo.stderr
    unknown = cli("events", "tag", "pmqs", "deadbeef00", str(tmp_path / "nowhere.jpg"), "--project", PROJECT)
    assert unknown.returncode != 0 and "deadbeef00 (no such photo or file)" in unknown.stderr
    assert "nothing was changed" in unknown.stderr and "Traceback" not in unknown.stderr
    undone = cli("undo", "--project", PROJECT, "--json")  # the edit
    assert json.loads(undone.stdout)["action"] == "undo edit"
    assert json.loads(cli("people", "show", "tony-blair", "--project", PROJECT, "--json").stdout)["aliases"] == []
    refused = cli("faces", "remove", "1", "--project", PROJECT)
    assert refused.returncode != 0 and "no face 1" in refused.stderr and "Traceback" not in refused.stderr
    with Runtime(app_settings) as runtime:
        assert "typo" not in runtime.graph.projects()  # no project made for a mistyped folder


def test_new_faces_of_confirmed_people_are_tagged_or_queued_and_strangers_are_not(app_settings: Settings,
                                                                                  cast) -> None:
    from peoplegraph.linking.matching import match_new_faces

    with Runtime(app_settings) as runtime:
        ingest = IngestService(runtime)
        ingest.ingest(PROJECT, collect_sources(cast["colin"][:5] + cast["tony"], IngestReport()))
        cluster_project(runtime, PROJECT)
        (colin_cluster,) = _cluster_of(runtime, cast["colin"][:5])
        linking.confirm_cluster(runtime, PROJECT, colin_cluster, name="Colin Powell")
        assert match_new_faces(runtime, PROJECT).auto == 0  # nothing new yet (a lone bystander stays unknown)
        ingest.ingest(PROJECT, collect_sources(cast["colin"][5:] + cast["hugo"], IngestReport()))
        report = match_new_faces(runtime, PROJECT)
        assert report.people == 1 and report.auto >= 2 and report.auto + report.review <= 4
        decisions = runtime.graph.face_decisions(PROJECT)
        new_colin, hugo = _faces_of(runtime, cast["colin"][5:]), _faces_of(runtime, cast["hugo"])
        tagged = [decisions[f] for f in new_colin if f in decisions and decisions[f].method == "auto"]
        assert len(tagged) >= 2
        for d in tagged:
            assert d.confirmed_as == "colin-powell" and d.score >= runtime.auto_threshold and len(d.references) == 3
            assert set(d.references) <= {f for f, x in decisions.items() if x.method == "confirmed"}
        assert not any(decisions.get(f) and decisions[f].confirmed_as for f in hugo)  # a stranger stays unknown
        cluster_project(runtime, PROJECT, mode="missing")
        (colin_now,) = _cluster_of(runtime, [cast["colin"][i] for i in range(5)] + [
            p for p, f in zip(cast["colin"][5:], new_colin) if decisions.get(f) and decisions[f].method == "auto"])
        assert {c.cluster_id: c.person_id for c in runtime.graph.clusters(PROJECT)}[colin_now] == "colin-powell"
    strict = app_settings.model_copy(update={"auto_threshold": 0.99})
    with Runtime(strict) as runtime:
        IngestService(runtime).ingest(PROJECT, collect_sources(sorted(
            (cast["colin"][0].parent).glob("*.jpg"))[8:11], IngestReport()))
        report = match_new_faces(runtime, PROJECT)
        assert report.auto == 0 and report.review >= 2  # good matches under a 0.99 bar wait for review
        queued = linking.review_queue(runtime, PROJECT)
        assert len(queued) == report.review and [d.score for d in queued] == sorted((d.score for d in queued),
                                                                                     reverse=True)
        assert all(d.suggested_as == "colin-powell" and d.confirmed_as is None for d in queued)
        accepted, rejected = queued[0].face_id, queued[1].face_id
        linking.review_faces(runtime, PROJECT, [accepted], accept=True, actor="ed")
        linking.review_faces(runtime, PROJECT, [rejected], accept=False, actor="ed")
        decisions = runtime.graph.face_decisions(PROJECT)
        assert decisions[accepted].confirmed_as == "colin-powell" and decisions[accepted].method == "confirmed"
        assert decisions[rejected].removed_from == {"colin-powell"} and decisions[rejected].confirmed_as is None
        faces_now = {f.face_id: f.cluster_id for f in runtime.vectors.faces(PROJECT)}
        named = {c.person_id: c.cluster_id for c in runtime.graph.clusters(PROJECT) if c.person_id}
        assert faces_now[accepted] == named["colin-powell"] != faces_now[rejected]
        assert [d.face_id for d in linking.review_queue(runtime, PROJECT)] == [d.face_id for d in queued[2:]]
        with pytest.raises(ValueError, match="not in the review queue"):
            linking.review_faces(runtime, PROJECT, [accepted], accept=True)


def test_photos_taken_before_a_persons_birth_are_never_matched_to_them(app_settings: Settings, cast,
                                                                       tmp_path: Path) -> None:
    from PIL import Image

    from peoplegraph.linking.matching import match_new_faces

    dated = []
    for photo in cast["colin"][5:]:  # the same photos, now saying they were taken in 1980
        exif = Image.Exif()
        exif.get_ifd(0x8769)[0x9003] = "1980:06:01 12:00:00"
        target = tmp_path / f"dated_{photo.name}"
        Image.open(photo).save(target, exif=exif, quality=95)
        dated.append(target)
    with Runtime(app_settings) as runtime:
        ingest = IngestService(runtime)
        ingest.ingest(PROJECT, collect_sources(cast["colin"][:5], IngestReport()))
        cluster_project(runtime, PROJECT)
        (colin_cluster,) = _cluster_of(runtime, cast["colin"][:5])
        linking.confirm_cluster(runtime, PROJECT, colin_cluster, name="Colin Powell")
        edit_person(runtime, PROJECT, "colin-powell", born="1990-01-01")  # a deliberately wrong birth date
        ingest.ingest(PROJECT, collect_sources(dated, IngestReport()))
        assert {p.taken_at for p in runtime.graph.photos(PROJECT) if "dated_" in p.path} == {"1980-06-01T12:00:00"}
        report = match_new_faces(runtime, PROJECT)
        assert report.auto == 0 and report.review == 0  # taken before the birth date: never him
        edit_person(runtime, PROJECT, "colin-powell", born="1937-04-05")
        # the faces stayed undecided, so the next ingest's matching sees them again
        assert match_new_faces(runtime, PROJECT).auto >= 2


def test_merge_split_and_remove_before_anyone_names_the_cluster(app_settings: Settings, cast) -> None:
    with Runtime(app_settings) as runtime:
        IngestService(runtime).ingest(PROJECT, collect_sources(cast["colin"][:5] + cast["tony"], IngestReport()))
        cluster_project(runtime, PROJECT)
        (colin,), (tony,) = _cluster_of(runtime, cast["colin"][:5]), _cluster_of(runtime, cast["tony"])
        colin_faces, tony_faces = _faces_of(runtime, cast["colin"][:5]), _faces_of(runtime, cast["tony"])
        stray = tony_faces[0]
        linking.remove_faces(runtime, PROJECT, [stray], actor="ed")  # no one has named Tony's cluster yet
        decisions = runtime.graph.face_decisions(PROJECT)
        group = decisions[tony_faces[1]].grouped_as
        assert group and decisions[stray].removed_from == {group} and decisions[stray].grouped_as is None

        def where() -> dict[int, int]:
            return {f.face_id: f.cluster_id for f in runtime.vectors.faces(PROJECT)}

        merged = linking.merge_clusters(runtime, PROJECT, [colin, tony], actor="ed")
        assert merged.person_id is None and set(merged.faces) >= set(colin_faces + tony_faces[1:])
        for _ in range(2):  # the merge holds through a reset
            now = where()
            assert len({now[f] for f in colin_faces + tony_faces[1:]}) == 1 and now[stray] != now[colin_faces[0]]
            linking.reset(runtime, PROJECT)
        (together,) = {where()[f] for f in colin_faces}
        linking.split_cluster(runtime, PROJECT, together, colin_faces, actor="ed")
        for _ in range(2):  # and so does the split
            now = where()
            assert len({now[f] for f in colin_faces}) == 1 and len({now[f] for f in tony_faces[1:]}) == 1
            assert now[colin_faces[0]] != now[tony_faces[1]] and -1 not in {now[colin_faces[0]], now[tony_faces[1]]}
            linking.reset(runtime, PROJECT)
        confirmed = linking.confirm_cluster(runtime, PROJECT, where()[tony_faces[1]], name="Tony Blair", actor="ed")
        linking.reset(runtime, PROJECT)
        now = where()
        tony_cluster = {c.person_id: c.cluster_id for c in runtime.graph.clusters(PROJECT) if c.person_id}["tony-blair"]
        assert {now[f] for f in tony_faces[1:]} == {tony_cluster} and now[stray] != tony_cluster  # the group's removal
        assert confirmed.person_id == "tony-blair"  # now holds against the person it was named as
        assert [linking.undo(runtime, PROJECT).action for _ in range(2)] == ["undo reset", "undo confirm"]
        assert runtime.graph.person(PROJECT, "tony-blair") is None  # the person the confirmation created goes too


def test_people_merge_shows_conflicts_combines_everything_and_undoes(app_settings: Settings, cast) -> None:
    from dataclasses import replace

    from peoplegraph.identity.records import MembershipRecord, OrganisationRecord
    from peoplegraph.linking.people import MergeConflictError, merge_people

    with Runtime(app_settings) as runtime:
        IngestService(runtime).ingest(PROJECT, collect_sources(cast["colin"][:8], IngestReport()))
        cluster_project(runtime, PROJECT)
        colin_faces = _faces_of(runtime, cast["colin"][:8])
        (whole,) = {f.cluster_id for f in runtime.vectors.faces_by_id(PROJECT, colin_faces)}
        linking.split_cluster(runtime, PROJECT, whole, colin_faces[:3])  # as if the machine had made two clusters
        cluster_of = {f.face_id: f.cluster_id for f in runtime.vectors.faces(PROJECT)}
        first = linking.confirm_cluster(runtime, PROJECT, cluster_of[colin_faces[3]], name="Colin Powell")
        second = linking.confirm_cluster(runtime, PROJECT, cluster_of[colin_faces[0]], name="General Powell")
        assert (first.person_id, second.person_id) == ("colin-powell", "general-powell")
        edit_person(runtime, PROJECT, "colin-powell", born="1937-04-05", biography="Secretary of State.",
                    external_ids={"wikidata": "Q150851"})
        edit_person(runtime, PROJECT, "general-powell", born="1937-05-04", biography="Chairman of the Joint Chiefs.",
                    add_aliases=["C. L. Powell"], visibility="hidden")
        runtime.graph.add_organisation(OrganisationRecord(PROJECT, "army", "US Army"))
        runtime.graph.add_membership(MembershipRecord(PROJECT, "general-powell", "army", "general", "1958", "1993"))
        with pytest.raises(MergeConflictError) as refused:
            merge_people(runtime, PROJECT, "colin-powell", "general-powell")
        conflicts = refused.value.conflicts  # the dates, and the faces the split said are not the others
        assert conflicts[0] == {"field": "born", "kept": "1937-04-05", "merged": "1937-05-04"}
        assert sorted(c["field"] for c in conflicts[1:]) == sorted(f"face {f}" for f in colin_faces[:3])
        assert "--prefer" in str(refused.value) and len(runtime.graph.people(PROJECT)) == 2  # nothing written
        result = merge_people(runtime, PROJECT, "colin-powell", "general-powell", prefer="colin-powell", actor="ed")
        (person,) = runtime.graph.people(PROJECT)
        assert person.person_id == "colin-powell" and person.born == "1937-04-05"
        assert person.aliases == ("General Powell", "C. L. Powell") and person.visibility == "hidden"
        assert "Secretary of State." in person.biography and "Chairman of the Joint Chiefs." in person.biography
        assert "born 1937-05-04" in person.notes and person.external_ids == (("wikidata", "Q150851"),)
        assert [m.person_id for m in runtime.graph.memberships(PROJECT, organisation_id="army")] == ["colin-powell"]
        assert result.conflicts and len(_cluster_of(runtime, cast["colin"][:8])) == 1  # one person, one cluster
        assert all(d.confirmed_as == "colin-powell" for d in runtime.graph.face_decisions(PROJECT).values()
                   if d.confirmed_as)
        linking.undo(runtime, PROJECT)
        people = {p.person_id: p for p in runtime.graph.people(PROJECT)}
        assert set(people) == {"colin-powell", "general-powell"}
        assert people["general-powell"] == replace(people["general-powell"], born="1937-05-04",
                                                   aliases=("C. L. Powell",), visibility="hidden")
        assert people["colin-powell"].aliases == () and people["colin-powell"].cluster_ids != ()
        assert [m.person_id for m in runtime.graph.memberships(PROJECT, organisation_id="army")] == ["general-powell"]
