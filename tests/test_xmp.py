"""People in XMP (issue 15): what peoplegraph writes, exiftool reads back; what exiftool writes in digiKam's and
Lightroom's shapes (sidecars, and inside the file), peoplegraph reads on ingest, on real LFW photos."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
from pathlib import Path

import pytest
from PIL import Image

from cli_runner import cli_json, run_cli
from peoplegraph.metadata.files import embed_in_jpeg, embedded_packets, sidecar_path, sidecars_of
from peoplegraph.metadata.xmp import FaceRegion, XmpError, merge_people, read_people, to_viewer, written_names
from peoplegraph.linking import service as linking
from peoplegraph.linking.people import edit_person
from peoplegraph.services.runtime import Runtime
from peoplegraph.settings import Settings
from unavailable import skip_or_fail

POWELL, BLAIR, BUSH = "Colin_Powell", "Tony_Blair", "George_W_Bush"


@pytest.fixture(scope="module")
def exiftool() -> str:
    """exiftool (Debian's libimage-exiftool-perl, which .ci/run installs)."""
    found = shutil.which("exiftool")
    if found is None:
        skip_or_fail("exiftool is missing: apt-get install libimage-exiftool-perl")
    return found


def _exif(exiftool: str, *args: str) -> None:
    done = subprocess.run([exiftool, "-q", "-m", *args], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr


def _read(exiftool: str, path: Path) -> dict:
    done = subprocess.run([exiftool, "-j", "-struct", "-G1", "-XMP:all", str(path)], capture_output=True,
                          text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)[0]


def _regions(*faces: tuple[str, float, float, float, float], width: int, height: int) -> str:
    """exiftool's -RegionInfo value for named faces (name, centre x, centre y, w, h; normalised)."""
    entries = ",".join(f"{{Area={{X={x},Y={y},W={w},H={h},Unit=normalized}},Name={name},Type=Face}}"
                       for name, x, y, w, h in faces)
    return f"-RegionInfo={{AppliedToDimensions={{W={width},H={height},Unit=pixel}},RegionList=[{entries}]}}"


def _names(info: dict) -> dict[str, tuple[float, float, float, float]]:
    return {r["Name"]: (r["Area"]["X"], r["Area"]["Y"], r["Area"]["W"], r["Area"]["H"])
            for r in info.get("XMP-mwg-rs:RegionInfo", {}).get("RegionList", []) if r.get("Type") == "Face"}


# --- the format alone (no photos of people needed) -------------------------------------------------------


def test_merge_keeps_every_other_field_and_replaces_what_it_names(tmp_path: Path, exiftool: str) -> None:
    photo = tmp_path / "a.jpg"
    Image.new("RGB", (400, 300), "gray").save(photo)
    sidecar = tmp_path / "a.jpg.xmp"
    _exif(exiftool, "-o", str(sidecar), "-XMP-dc:Title=Final match", "-XMP-xmp:Rating=4",
          "-XMP-dc:Subject+=Football", "-XMP-digiKam:TagsList+=Places/Paris", "-XMP-digiKam:TagsList+=People/Old Name",
          "-XMP-iptcExt:PersonInImage+=Old Name", "-XMP-lr:HierarchicalSubject+=People|Old Name",
          _regions(("Old Name", 0.2, 0.35, 0.2, 0.3), width=400, height=300).replace(
              "]}", ",{Area={X=0.8,Y=0.2,W=0.1,H=0.1,Unit=normalized},Name=Ball,Type=Focus}]}"), str(photo))
    merged = merge_people(sidecar.read_bytes(), [FaceRegion("Zoë Ñandú", (0.1, 0.2, 0.3, 0.5)),
                                                 FaceRegion("李小龍", (0.6, 0.1, 0.8, 0.4))], 400, 300)
    sidecar.write_bytes(merged)
    info = _read(exiftool, sidecar)
    assert info["XMP-dc:Title"] == "Final match" and info["XMP-xmp:Rating"] == 4
    assert set(info["XMP-dc:Subject"]) == {"Football", "Zoë Ñandú", "李小龍"}
    assert set(info["XMP-digiKam:TagsList"]) == {"Places/Paris", "People/Zoë Ñandú", "People/李小龍"}
    assert set(info["XMP-iptcExt:PersonInImage"]) == {"Zoë Ñandú", "李小龍"}  # the replaced region's name left
    assert set(info["XMP-lr:HierarchicalSubject"]) == {"People|Zoë Ñandú", "People|李小龍"}
    regions = info["XMP-mwg-rs:RegionInfo"]
    assert regions["AppliedToDimensions"] == {"W": 400, "H": 300, "Unit": "pixel"}
    assert {r["Name"]: r["Type"] for r in regions["RegionList"]} == {"Ball": "Focus", "Zoë Ñandú": "Face",
                                                                     "李小龍": "Face"}
    assert _names(info)["Zoë Ñandú"] == pytest.approx((0.2, 0.35, 0.2, 0.3))
    # merging again changes nothing
    assert merge_people(merged, [FaceRegion("Zoë Ñandú", (0.1, 0.2, 0.3, 0.5)),
                                 FaceRegion("李小龍", (0.6, 0.1, 0.8, 0.4))], 400, 300) == merged
    # a later export: a person found by body is named with no region (the face region there is kept), and a
    # person peoplegraph wrote before but not now (made private, say) leaves the names and regions
    sidecar.write_bytes(merge_people(merged, [], 400, 300, without_region=["李小龍", "Back Turned"]))
    info = _read(exiftool, sidecar)
    assert set(info["XMP-iptcExt:PersonInImage"]) == {"李小龍", "Back Turned"}
    assert "People|Back Turned" in info["XMP-lr:HierarchicalSubject"] and "Back Turned" in info["XMP-dc:Subject"]
    assert set(_names(info)) == {"李小龍"} and "Football" in info["XMP-dc:Subject"]  # what it never wrote stays
    assert written_names(sidecar.read_bytes()) == ["李小龍", "Back Turned"]
    # each project takes out only what it added: another project's name stays when this one writes nothing
    other = merge_people(sidecar.read_bytes(), [], 400, 300, without_region=["Cy Dee"], project="film")
    emptied = merge_people(other, [], 400, 300)
    assert read_people(emptied).names_without_region == ["Cy Dee"] and written_names(emptied, "film") == ["Cy Dee"]
    # a name the file gave before peoplegraph wrote it is the user's: never recorded, never taken out
    assert written_names(merge_people(emptied, [], 400, 300, without_region=["Cy Dee"])) == []


def test_reads_the_shapes_digikam_and_lightroom_write(tmp_path: Path, exiftool: str) -> None:
    photo = tmp_path / "b.jpg"
    Image.new("RGB", (600, 400), "gray").save(photo)
    digikam, lightroom = tmp_path / "digikam.xmp", tmp_path / "lightroom.xmp"
    _exif(exiftool, "-o", str(digikam), _regions(("Ann Lee", 0.25, 0.5, 0.2, 0.3), width=600, height=400),
          "-XMP-digiKam:TagsList+=People/Ann Lee", "-XMP-digiKam:TagsList+=People/Bo Chan", str(photo))
    _exif(exiftool, "-o", str(lightroom), _regions(("Bo Chan", 0.75, 0.5, 0.2, 0.3), width=600, height=400),
          "-XMP-lr:HierarchicalSubject+=People|Bo Chan", "-XMP-lr:HierarchicalSubject+=Places|Rome",
          "-XMP-iptcExt:PersonInImage+=Cy Dee", str(photo))
    kam = read_people(digikam.read_bytes())
    assert [(r.name, r.box) for r in kam.regions] == [("Ann Lee", pytest.approx((0.15, 0.35, 0.35, 0.65)))]
    assert kam.names_without_region == ["Bo Chan"]
    room = read_people(lightroom.read_bytes())
    assert [r.name for r in room.regions] == ["Bo Chan"] and room.names_without_region == ["Cy Dee"]
    # embedded in the JPEG by exiftool, then found by peoplegraph
    _exif(exiftool, "-overwrite_original", _regions(("Ann Lee", 0.25, 0.5, 0.2, 0.3), width=600, height=400),
          str(photo))
    assert [r.name for r in read_people(embedded_packets(photo.read_bytes())).regions] == ["Ann Lee"]


def test_embedding_replaces_only_the_xmp_segment(tmp_path: Path, exiftool: str) -> None:
    photo = tmp_path / "c.jpg"
    Image.new("RGB", (320, 240), "white").save(photo)
    _exif(exiftool, "-overwrite_original", "-EXIF:Artist=Someone", "-EXIF:Orientation#=1", "-XMP-dc:Title=Old",
          str(photo))
    before = photo.read_bytes()
    packet = merge_people(embedded_packets(before), [FaceRegion("Ann Lee", (0.1, 0.1, 0.3, 0.4))], 320, 240)
    after = embed_in_jpeg(before, packet)
    copy = tmp_path / "copy.jpg"
    copy.write_bytes(after)
    info = _read(exiftool, copy)
    assert info["XMP-dc:Title"] == "Old" and set(_names(info)) == {"Ann Lee"}
    artist = subprocess.run([exiftool, "-s3", "-EXIF:Artist", str(copy)], capture_output=True, text=True)
    assert artist.stdout.strip() == "Someone"
    assert Image.open(copy).tobytes() == Image.open(photo).tobytes()  # the pixels are the same bytes
    assert embed_in_jpeg(after, packet) == after  # once, not twice
    with pytest.raises(XmpError, match="JPEG files only"):
        embed_in_jpeg(b"\x89PNG\r\n\x1a\n", packet)


def test_bad_xmp_is_refused_with_a_clear_error() -> None:
    with pytest.raises(XmpError, match="not well-formed XMP"):
        read_people(b"<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF>")
    with pytest.raises(XmpError, match="not well-formed XMP"):
        merge_people(b"\x00\x01garbage", [], 10, 10)


def test_orientation_turns_a_box_drawn_on_the_stored_pixels() -> None:
    box = (0.1, 0.2, 0.3, 0.4)
    assert to_viewer(box, 1) == box
    assert to_viewer(box, 3) == pytest.approx((0.7, 0.6, 0.9, 0.8))
    assert to_viewer(box, 6) == pytest.approx((0.6, 0.1, 0.8, 0.3))  # turned 90 degrees clockwise
    assert to_viewer(box, 8) == pytest.approx((0.2, 0.7, 0.4, 0.9))


def test_sidecar_names_follow_the_setting(tmp_path: Path) -> None:
    assert sidecar_path(tmp_path / "a.jpg", "photo.jpg.xmp").name == "a.jpg.xmp"
    assert sidecar_path(tmp_path / "a.jpg", "photo.xmp").name == "a.xmp"


# --- on real photos: ingest reads, export writes ----------------------------------------------------------


def _lfw_photo(shared_data: Path, person: str, index: int = 0) -> Path:
    return sorted((shared_data / "lfw-devtrain" / person).glob("*.jpg"))[index]


def _group(left: Path, right: Path, target: Path, orientation: int = 1) -> None:
    """Two LFW photos side by side (500 x 250 as seen); stored turned, with the EXIF orientation that turns it
    back, when `orientation` is 6."""
    both = Image.new("RGB", (500, 250))
    both.paste(Image.open(left).convert("RGB"), (0, 0))
    both.paste(Image.open(right).convert("RGB"), (250, 0))
    if orientation == 6:
        exif = Image.Exif()
        exif[0x0112] = 6
        both.transpose(Image.Transpose.ROTATE_90).save(target, quality=95, exif=exif)
    else:
        both.save(target, quality=95)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_ingest_reads_names_and_export_writes_them_back(shared_data: Path, app_settings: Settings, tmp_path: Path,
                                                        exiftool: str) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    alone = photos / "powell.jpg"  # digiKam: photo.jpg.xmp, a face region and the People tag
    shutil.copy(_lfw_photo(shared_data, POWELL), alone)
    _exif(exiftool, "-o", str(alone) + ".xmp", "-XMP-dc:Title=At the UN", "-XMP-xmp:Rating=5",
          _regions(("Colin Powell", 0.5, 0.47, 0.4, 0.5), width=250, height=250),
          "-XMP-digiKam:TagsList+=People/Colin Powell", "-XMP-digiKam:TagsList+=Events/Summit", str(alone))
    group = photos / "summit.jpg"  # Lightroom: photo.xmp, two regions, one per face
    _group(_lfw_photo(shared_data, BLAIR), _lfw_photo(shared_data, BUSH), group)
    _exif(exiftool, "-o", str(photos / "summit.xmp"),
          _regions(("Tony Blair", 0.25, 0.47, 0.2, 0.5), ("George W Bush", 0.75, 0.47, 0.2, 0.5), width=500, height=250),
          "-XMP-lr:HierarchicalSubject+=People|Tony Blair", "-XMP-lr:HierarchicalSubject+=People|George W Bush",
          str(group))
    turned = photos / "turned.jpg"  # stored on its side (EXIF orientation 6), regions as the viewer sees it
    _group(_lfw_photo(shared_data, BUSH, 1), _lfw_photo(shared_data, BLAIR, 1), turned, orientation=6)
    _exif(exiftool, "-overwrite_original",
          _regions(("George W Bush", 0.25, 0.47, 0.2, 0.5), ("Tony Blair", 0.75, 0.47, 0.2, 0.5), width=500, height=250),
          str(turned))
    embedded = photos / "blair.jpg"  # inside the file, with a name that has no region and one over no face
    shutil.copy(_lfw_photo(shared_data, BLAIR, 2), embedded)
    _exif(exiftool, "-overwrite_original", _regions(("Tony Blair", 0.5, 0.47, 0.4, 0.5), ("Nobody Here", 0.06, 0.06,
                                                                                          0.1, 0.1), width=250, height=250),
          "-XMP-iptcExt:PersonInImage+=Tony Blair", "-XMP-iptcExt:PersonInImage+=Cherie Blair", str(embedded))
    broken = photos / "broken.jpg"
    shutil.copy(_lfw_photo(shared_data, POWELL, 1), broken)
    (photos / "broken.jpg.xmp").write_text("<x:xmpmeta xmlns:x='adobe:ns:meta/'><rdf:RDF>")
    originals = {p.name: _sha(p) for p in photos.glob("*.jpg")}

    found = cli_json(app_settings, "ingest", str(photos), "--project", "news", "--actor", "editor")
    meta = found["metadata"]
    assert meta["confirmed"] == 6 and meta["already"] == 0 and meta["conflicts"] == []
    assert sorted(meta["people_created"]) == ["colin-powell", "george-w-bush", "tony-blair"]
    assert [line.rsplit("/", 1)[-1] for line in meta["no_face"]] == ["blair.jpg: Nobody Here"]
    assert any(line.endswith("blair.jpg: Cherie Blair") for line in meta["without_region"])
    assert len(meta["unreadable"]) == 1 and "broken.jpg.xmp" in meta["unreadable"][0] \
        and "not well-formed XMP" in meta["unreadable"][0]
    # every import is the right face (the turned photo's too), with the file it came from
    with Runtime(app_settings) as runtime:
        faces = runtime.vectors.project_faces("news")
        photo_of = {p.photo_id: Path(p.path).name for p in runtime.graph.photos("news")}
        imported = {}
        for face_id, decision in runtime.graph.face_decisions("news").items():
            if decision.method == "imported":
                row = int(faces.rows([face_id])[0])
                imported[(photo_of[faces.photo_id(row)], decision.confirmed_as)] = (decision, faces.boxes[row])
        steps = linking.history(runtime, "news", person_id="tony-blair")
    assert set(imported) == {("powell.jpg", "colin-powell"), ("summit.jpg", "tony-blair"),
                             ("summit.jpg", "george-w-bush"), ("turned.jpg", "george-w-bush"),
                             ("turned.jpg", "tony-blair"), ("blair.jpg", "tony-blair")}
    assert {name: Path(d.source).name for (name, _), (d, _) in imported.items()} == {
        "powell.jpg": "powell.jpg.xmp", "summit.jpg": "summit.xmp", "turned.jpg": "turned.jpg",
        "blair.jpg": "blair.jpg"}
    assert all(d.actor == "editor" for d, _ in imported.values())
    centre = {key: (box[0] + box[2]) / 2 for key, (_, box) in imported.items()}
    assert centre[("summit.jpg", "tony-blair")] < 250 < centre[("summit.jpg", "george-w-bush")]
    assert centre[("turned.jpg", "george-w-bush")] < 250 < centre[("turned.jpg", "tony-blair")]
    assert {Path(s.to_dict()["source"]).name for s in steps
            if s.action == "import metadata" and s.to_dict()["person_id"] == "tony-blair"} == {
        "summit.xmp", "turned.jpg", "blair.jpg"}

    # ingesting again: nothing new, nothing lost
    again = cli_json(app_settings, "ingest", str(photos), "--project", "news")["metadata"]
    assert again["confirmed"] == 0 and again["already"] == 6

    # export: sidecars beside the originals, merged; exiftool reads every region and name
    exported = cli_json(app_settings, "xmp", "export", "--project", "news")
    assert len(exported["written"]) == 4 and len(exported["skipped"]) == 1  # a sidecar it cannot read: kept
    assert "broken.jpg.xmp is left as it is: not well-formed XMP" in exported["skipped"][0]
    info = _read(exiftool, Path(str(alone) + ".xmp"))
    assert info["XMP-dc:Title"] == "At the UN" and info["XMP-xmp:Rating"] == 5
    assert "Events/Summit" in info["XMP-digiKam:TagsList"] and "People/Colin Powell" in info["XMP-digiKam:TagsList"]
    assert set(_names(info)) == {"Colin Powell"}
    x, y, w, h = _names(info)["Colin Powell"]
    assert abs(x - 0.5) < 0.1 and abs(y - 0.5) < 0.15 and 0.1 < w < 0.6  # the detected face's box
    assert not (photos / "summit.jpg.xmp").exists()  # Lightroom's own sidecar is the one merged into
    summit = _read(exiftool, photos / "summit.xmp")
    assert set(_names(summit)) == {"Tony Blair", "George W Bush"}
    assert _names(summit)["Tony Blair"][0] < 0.5 < _names(summit)["George W Bush"][0]
    assert set(summit["XMP-iptcExt:PersonInImage"]) == {"Tony Blair", "George W Bush"}
    assert set(summit["XMP-lr:HierarchicalSubject"]) == {"People|Tony Blair", "People|George W Bush"}
    seen = _read(exiftool, photos / "turned.jpg.xmp")
    assert seen["XMP-mwg-rs:RegionInfo"]["AppliedToDimensions"] == {"W": 500, "H": 250, "Unit": "pixel"}
    assert _names(seen)["George W Bush"][0] < 0.5 < _names(seen)["Tony Blair"][0]
    # a person made private: the next export takes out only names it added itself (test_bodies.py has those)
    with Runtime(app_settings) as runtime:
        edit_person(runtime, "news", "colin-powell", visibility="private")
    private = cli_json(app_settings, "xmp", "export", "--project", "news")
    assert private["cleared"] == []  # digiKam's sidecar named him before peoplegraph did: the user's, kept
    left = _read(exiftool, Path(str(alone) + ".xmp"))
    assert "People/Colin Powell" in left["XMP-digiKam:TagsList"] and left["XMP-dc:Title"] == "At the UN"
    with Runtime(app_settings) as runtime:
        edit_person(runtime, "news", "colin-powell", visibility="normal")
    # into another folder: made from the sidecar beside the original, whose other fields come along
    elsewhere = cli_json(app_settings, "xmp", "export", "--project", "news", "--person", "colin-powell", "--to",
                         str(tmp_path / "sidecars"))
    assert [Path(p).name for p in elsewhere["written"]] == ["powell.jpg.xmp"]
    copied = _read(exiftool, tmp_path / "sidecars" / "powell.jpg.xmp")
    assert copied["XMP-dc:Title"] == "At the UN" and set(_names(copied)) == {"Colin Powell"}
    # one person's photos, embedded into copies; the originals are never touched
    copies = tmp_path / "copies"
    embedded_out = cli_json(app_settings, "xmp", "export", "--project", "news", "--person", "george-w-bush",
                            "--embed", "--to", str(copies))
    assert sorted(Path(p).name for p in embedded_out["written"]) == ["summit.jpg", "turned.jpg"]
    assert set(_names(_read(exiftool, copies / "summit.jpg"))) == {"Tony Blair", "George W Bush"}
    assert Image.open(copies / "turned.jpg").getexif().get(0x0112) == 6
    assert {p.name: _sha(p) for p in photos.glob("*.jpg")} == originals
    # the copies come back in with their names: a second library reads them
    second = cli_json(app_settings, "ingest", str(copies), "--project", "copies")["metadata"]
    assert second["confirmed"] == 4 and second["conflicts"] == []
    # two cameras' photos of one name: into another folder, each sidecar in its camera's folder, as its photo
    cams = tmp_path / "cams"
    for camera, copy in (("cam1", "summit.jpg"), ("cam2", "turned.jpg")):
        (cams / camera).mkdir(parents=True)
        shutil.copy(copies / copy, cams / camera / "IMG_0001.jpg")
    assert cli_json(app_settings, "ingest", str(cams), "--project", "cams")["metadata"]["confirmed"] == 4
    out = tmp_path / "out"
    written = cli_json(app_settings, "xmp", "export", "--project", "cams", "--to", str(out))["written"]
    assert sorted(Path(p).relative_to(out).as_posix() for p in written) == ["cam1/IMG_0001.jpg.xmp",
                                                                            "cam2/IMG_0001.jpg.xmp"]
    first, second_camera = (_names(_read(exiftool, out / c / "IMG_0001.jpg.xmp")) for c in ("cam1", "cam2"))
    assert first["Tony Blair"][0] < 0.5 < first["George W Bush"][0]  # summit's people, where summit has them
    assert second_camera["George W Bush"][0] < 0.5 < second_camera["Tony Blair"][0]  # turned's


def test_an_editors_decision_wins_over_a_files_name(shared_data: Path, app_settings: Settings, tmp_path: Path,
                                                    exiftool: str) -> None:
    photos = tmp_path / "photos"
    photos.mkdir()
    for index in range(3):
        shutil.copy(_lfw_photo(shared_data, POWELL, index + 2), photos / f"p{index}.jpg")
    photo = photos / "p0.jpg"
    cli_json(app_settings, "ingest", str(photos), "--project", "p")
    with Runtime(app_settings) as runtime:
        cluster = int(runtime.vectors.project_faces("p").cluster_ids.max())
        linking.confirm_cluster(runtime, "p", cluster, name="Colin Powell")
    _exif(exiftool, "-o", str(photo) + ".xmp", _regions(("Somebody Else", 0.5, 0.47, 0.4, 0.5), width=250,
                                                        height=250), str(photo))
    meta = cli_json(app_settings, "ingest", str(photos), "--project", "p")["metadata"]
    assert meta["confirmed"] == 0 and len(meta["conflicts"]) == 1
    assert "confirmed as 'colin-powell'" in meta["conflicts"][0]
    assert run_cli(app_settings, "ingest", str(photos), "--project", "p", "--no-read-metadata").returncode == 0


def test_xmp_as_other_tools_leave_it(tmp_path: Path, exiftool: str) -> None:
    """A packet with a NUL after it, a JPEG whose regions spill into extended XMP, a Lightroom sidecar shared
    by two photos of one stem, and regions drawn on the stored pixels of a turned photo."""
    tail = merge_people(None, [FaceRegion("Ann Lee", (0.1, 0.1, 0.3, 0.4))], 100, 100) + b"\x00\x00"
    assert [r.name for r in read_people(tail).regions] == ["Ann Lee"]

    photo = tmp_path / "big.jpg"
    Image.new("RGB", (800, 600), "gray").save(photo)
    many = [(f"Person number {i} with a rather long name to fill the packet", 0.05 + (i % 20) * 0.045,
             0.05 + (i // 20) * 0.03, 0.02, 0.02) for i in range(600)]
    _exif(exiftool, "-overwrite_original", _regions(*many, width=800, height=600), str(photo))
    packets = embedded_packets(photo.read_bytes())
    assert len(packets) == 2  # exiftool put the rest in extended XMP
    assert len(read_people(packets).regions) == 600
    packet = merge_people(packets[:1] + packets[1:], [FaceRegion("Person number 0 with a rather long name to fill "
                                                                 "the packet", (0.04, 0.04, 0.06, 0.06))], 800, 600)
    with pytest.raises(XmpError, match="larger than one JPEG segment"):
        embed_in_jpeg(photo.read_bytes(), packet)  # 600 regions: a sidecar, not one segment

    pair = tmp_path / "pair"
    pair.mkdir()
    for suffix in ("jpg", "png"):
        Image.new("RGB", (50, 50)).save(pair / f"x.{suffix}")
    (pair / "x.xmp").write_bytes(tail)
    assert sidecars_of(pair / "x.jpg") == [] and sidecars_of(pair / "x.png") == []  # whose would it be?
    assert sidecar_path(pair / "x.jpg", "photo.xmp").name == "x.jpg.xmp"
    alone = tmp_path / "alone"
    alone.mkdir()
    Image.new("RGB", (50, 50)).save(alone / "y.jpg")
    assert sidecar_path(alone / "y.jpg", "photo.xmp").name == "y.xmp"
    assert sidecar_path(alone / "y.jpg", "photo.xmp", {alone / "y.xmp"}).name == "y.jpg.xmp"

    turned = tmp_path / "turned.xmp"  # drawn on the stored 500 x 375 pixels of a photo seen 375 x 500
    _exif(exiftool, "-o", str(turned), _regions(("Bo Chan", 0.3, 0.5, 0.2, 0.2), width=500, height=375).replace(
        "]}", ",{Area={X=0.85,Y=0.15,W=0.1,H=0.1,Unit=normalized},Name=Rex,Type=Pet}]}"), str(alone / "y.jpg"))
    seen = read_people(turned.read_bytes(), orientation=6, stored_size=(500, 375))
    assert seen.regions[0].box == pytest.approx(to_viewer((0.2, 0.4, 0.4, 0.6), 6))
    merged = merge_people(turned.read_bytes(), [FaceRegion("Cy Dee", (0.7, 0.7, 0.8, 0.8))], 375, 500,
                          orientation=6, stored_size=(500, 375))
    turned.write_bytes(merged)
    info = _read(exiftool, turned)
    assert info["XMP-mwg-rs:RegionInfo"]["AppliedToDimensions"] == {"W": 375, "H": 500, "Unit": "pixel"}
    areas = {r["Name"]: (r["Area"]["X"], r["Area"]["Y"]) for r in info["XMP-mwg-rs:RegionInfo"]["RegionList"]}
    assert areas["Rex"] == pytest.approx((0.85, 0.85)) and areas["Bo Chan"] == pytest.approx((0.5, 0.3))
