"""People in XMP: read and write the fields photo managers use for who is in a photo.

Written and read:
- MWG face regions (`mwg-rs:Regions`: `AppliedToDimensions`, and per face a `RegionList` entry of `Type`
  Face, `Name` and an `Area` as a normalised centre, width and height). digiKam, Lightroom Classic,
  Photo Mechanic, Immich, PhotoPrism and exiftool read them. Boxes are in the orientation the viewer sees
  (EXIF orientation applied), as digiKam writes them; a region list whose `AppliedToDimensions` are the
  stored (unrotated) image's is turned into the viewer's orientation when read.
- IPTC Extension `Iptc4xmpExt:PersonInImage` (names: of the face regions, and of people in the photo with no
  face to draw, found by their body).
- Keywords as digiKam (`digiKam:TagsList` People/Name) and Lightroom (`lr:hierarchicalSubject` People|Name,
  and the flat `dc:subject` Name) keep people.

Merging into an existing packet keeps every other field: face regions of the people written replace the
face regions they overlap or that carry their name; every other region stays. A name that only a replaced
region carried leaves the name and keyword lists too (a renamed person is not kept under the old name).
The names peoplegraph adds are recorded in the packet with their project (`peoplegraph:Written`,
"project/name"; a name the packet gave before is not recorded): a name an export of that project added before
and is not to write now (the person made hidden or private, their tag rejected or undone) leaves the lists,
and its face regions go, while every name and region peoplegraph did not add, or another project did, stays.

RDF allows a property as an attribute or as an element, and a struct as `rdf:parseType="Resource"` or as
a nested `rdf:Description`: all are read; what is written uses the element forms exiftool writes.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass, field

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
X = "adobe:ns:meta/"
NAMESPACES = {
    "x": X,
    "rdf": RDF,
    "mwg-rs": "http://www.metadataworkinggroup.com/schemas/regions/",
    "stDim": "http://ns.adobe.com/xap/1.0/sType/Dimensions#",
    "stArea": "http://ns.adobe.com/xmp/sType/Area#",
    "Iptc4xmpExt": "http://iptc.org/std/Iptc4xmpExt/2008-02-29/",
    "digiKam": "http://www.digikam.org/ns/1.0/",
    "lr": "http://ns.adobe.com/lightroom/1.0/",
    "dc": "http://purl.org/dc/elements/1.1/",
    "peoplegraph": "https://github.com/peoplegraph/peoplegraph/ns/xmp/1.0/",
}
PEOPLE_TAG = "People"  # the keyword root digiKam and Lightroom file people under
# the names peoplegraph wrote into a packet (a Bag): what the next export may take out again, and nothing else
WRITTEN = "{https://github.com/peoplegraph/peoplegraph/ns/xmp/1.0/}Written"
HAS_EXTENDED = "{http://ns.adobe.com/xmp/note/}HasExtendedXMP"  # a main packet's pointer to its extended one
MAX_PACKET_BYTES = 4 * 1024 * 1024  # a larger XMP packet is refused rather than parsed
OVERLAP_REPLACED = 0.3  # IoU at which a written face region replaces a region already in the file
_PACKET_HEAD = "<?xpacket begin=\"\ufeff\" id=\"W5M0MpCehiHzreSzNTczkc9d\"?>\n"
_PACKET_TAIL = "\n<?xpacket end=\"w\"?>"


def _q(prefix: str, name: str) -> str:
    return f"{{{NAMESPACES[prefix]}}}{name}"


class XmpError(ValueError):
    """An XMP packet that cannot be read (named by the caller's file)."""


@dataclass(frozen=True)
class FaceRegion:
    """A named face: `box` is x1, y1, x2, y2 as fractions of the photo's width and height as the viewer sees
    it."""

    name: str
    box: tuple[float, float, float, float]


@dataclass
class PeopleTags:
    """Who an XMP packet says is in the photo: named face regions, and names with no region (from
    PersonInImage or People keywords)."""

    regions: list[FaceRegion] = field(default_factory=list)
    names_without_region: list[str] = field(default_factory=list)
    empty_regions: list[str] = field(default_factory=list)  # names of face regions with no area

    @property
    def empty(self) -> bool:
        return not self.regions and not self.names_without_region and not self.empty_regions


def iou(a: Sequence[float], b: Sequence[float]) -> float:
    """Intersection over union of two x1, y1, x2, y2 boxes."""
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = w * h
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter
    return inter / union if union > 0 else 0.0


# ------------------------------------------------------------------------------------------------- reading


def read_people(packets: bytes | Sequence[bytes], *, orientation: int = 1,
                stored_size: tuple[int, int] | None = None) -> PeopleTags:
    """The people an XMP packet (or a JPEG's main and extended packets together) names. `orientation` (EXIF,
    1-8) and `stored_size` (the pixels as stored, before orientation): regions written against the stored
    image's dimensions (see the module) are turned into the viewer's orientation."""
    tags = PeopleTags()
    named: list[str] = []
    for root in [_parse(p) for p in ([packets] if isinstance(packets, bytes) else packets)]:
        for description in root.iter(f"{{{RDF}}}Description"):
            regions = _property(description, _q("mwg-rs", "Regions"))
            if isinstance(regions, ET.Element):
                found, empty = _face_regions(regions, orientation, stored_size)
                tags.regions += found
                tags.empty_regions += empty
            named += _items(description, _q("Iptc4xmpExt", "PersonInImage"))
            named += [k.split("/", 1)[1] for k in _items(description, _q("digiKam", "TagsList"))
                      if k.startswith(PEOPLE_TAG + "/") and "/" not in k[len(PEOPLE_TAG) + 1:]]
            named += [k.split("|", 1)[1] for k in _items(description, _q("lr", "hierarchicalSubject"))
                      if k.startswith(PEOPLE_TAG + "|") and "|" not in k[len(PEOPLE_TAG) + 1:]]
    with_region = {n.casefold() for n in [*(r.name for r in tags.regions), *tags.empty_regions]}
    for name in named:
        if name.strip() and name.casefold() not in with_region:
            with_region.add(name.casefold())
            tags.names_without_region.append(name.strip())
    return tags


def _parse(packet: bytes) -> ET.Element:
    if len(packet) > MAX_PACKET_BYTES:
        raise XmpError(f"XMP packet of {len(packet)} bytes is past the limit of {MAX_PACKET_BYTES}")
    first, last = packet.find(b"<"), packet.rfind(b">")  # writers leave NULs or padding around the packet
    try:
        return ET.fromstring(packet[max(first, 0):last + 1])
    except ET.ParseError as exc:
        raise XmpError(f"not well-formed XMP ({exc})") from None


def _property(node: ET.Element, name: str) -> str | ET.Element | None:
    """A property of a resource: its text when simple; the element that holds its fields when a struct
    (parseType Resource, a nested rdf:Description, or fields as attributes); None when absent."""
    if name in node.attrib:
        return node.attrib[name]
    element = node.find(name)
    if element is None:
        return None
    nested = element.find(f"{{{RDF}}}Description")
    if nested is not None:
        return nested
    if element.get(f"{{{RDF}}}parseType") == "Resource" or len(element) or \
            any(k != f"{{{RDF}}}parseType" for k in element.attrib):
        return element
    return (element.text or "").strip()


def _items(node: ET.Element, name: str) -> list[str]:
    """The texts of an array property (rdf:Bag, Seq or Alt), or of a simple one."""
    value = _property(node, name)
    if isinstance(value, str):
        return [value] if value else []
    if value is None:
        return []
    return [(li.text or "").strip() for li in value.iter(f"{{{RDF}}}li") if (li.text or "").strip()]


def _number(node: ET.Element, name: str) -> float | None:
    value = _property(node, name)
    try:
        return float(value) if isinstance(value, str) else None
    except ValueError:
        return None


def _face_regions(regions: ET.Element, orientation: int = 1,
                  stored_size: tuple[int, int] | None = None) -> tuple[list[FaceRegion], list[str]]:
    """The named face regions of a Regions struct, in the viewer's orientation, and the names of those
    with no area."""
    turn = _stored_turn(regions, orientation, stored_size)
    found, empty = [], []
    for entry in _region_entries(regions):
        region = _face_region(entry, turn)
        if isinstance(region, FaceRegion):
            found.append(region)
        elif region:
            empty.append(region)
    return found, empty


def _stored_turn(regions: ET.Element, orientation: int, stored_size: tuple[int, int] | None) -> int:
    """`orientation` when the regions were drawn on the stored pixels of a turned photo (their
    AppliedToDimensions are the stored ones), else 1."""
    applied = _property(regions, _q("mwg-rs", "AppliedToDimensions"))
    if isinstance(applied, ET.Element) and stored_size is not None and orientation in (5, 6, 7, 8) \
            and stored_size[0] != stored_size[1]:
        w, h = _number(applied, _q("stDim", "w")), _number(applied, _q("stDim", "h"))
        if w is not None and h is not None and (round(w), round(h)) == tuple(stored_size):
            return orientation
    return 1


def _region_entries(regions: ET.Element) -> list[ET.Element]:
    """The entries of a Regions struct's RegionList (each the rdf:li's Description, or the rdf:li itself)."""
    region_list = regions.find(_q("mwg-rs", "RegionList"))
    entries = []
    for array in [] if region_list is None else list(region_list):
        for li in array.findall(f"{{{RDF}}}li"):
            nested = li.find(f"{{{RDF}}}Description")
            entries.append(nested if nested is not None else li)
    return entries


def _face_region(entry: ET.Element, orientation: int = 1) -> FaceRegion | str | None:
    """A region list entry as a named face region; its name alone when it has no area; None for other
    regions (not a face, no name)."""
    kind, name = _property(entry, _q("mwg-rs", "Type")), _property(entry, _q("mwg-rs", "Name"))
    area = _property(entry, _q("mwg-rs", "Area"))
    if kind != "Face" or not isinstance(name, str) or not name.strip() or not isinstance(area, ET.Element):
        return None
    x, y, w, h = (_number(area, _q("stArea", k)) for k in ("x", "y", "w", "h"))
    if x is None or y is None or w is None or h is None or w <= 0 or h <= 0:
        return name.strip()  # named, but no area to find a face in
    box = to_viewer((x - w / 2, y - h / 2, x + w / 2, y + h / 2), orientation)
    return FaceRegion(name.strip(), tuple(round(min(1.0, max(0.0, v)), 6) for v in box))  # type: ignore[arg-type]


def to_viewer(box: tuple[float, float, float, float], orientation: int) -> tuple[float, float, float, float]:
    """A normalised box on the stored image, in the orientation the viewer sees (EXIF orientation 1-8)."""
    x1, y1, x2, y2 = box
    corners = [(x1, y1), (x2, y2)]
    turn = {
        1: lambda x, y: (x, y), 2: lambda x, y: (1 - x, y), 3: lambda x, y: (1 - x, 1 - y),
        4: lambda x, y: (x, 1 - y), 5: lambda x, y: (y, x), 6: lambda x, y: (1 - y, x),
        7: lambda x, y: (1 - y, 1 - x), 8: lambda x, y: (y, 1 - x),
    }.get(orientation, lambda x, y: (x, y))
    (a, b), (c, d) = (turn(*p) for p in corners)
    return min(a, c), min(b, d), max(a, c), max(b, d)


# ------------------------------------------------------------------------------------------------- writing


def merge_people(existing: bytes | Sequence[bytes] | None, regions: Sequence[FaceRegion], width: int, height: int,
                 *, orientation: int = 1, stored_size: tuple[int, int] | None = None,
                 without_region: Sequence[str] = (), project: str = "") -> bytes:
    """An XMP packet (UTF-8, with its xpacket wrapper) naming these faces of a photo `width` x `height`
    pixels as the viewer sees it, and the people `without_region` (in the photo with no face to draw: found
    by their body), merged into `existing` (a packet, or a JPEG's main and extended packets, which become
    one; see the module), for `project` (the names it wrote before and not now are taken out). `orientation`
    and `stored_size` as `read_people`: a region list drawn on the stored pixels of a turned photo is written
    back turned, its other regions with it. Raises XmpError when `existing` cannot be read."""
    packets = [] if not existing else [existing] if isinstance(existing, bytes) else list(existing)
    root = _parse(packets[0]) if packets else ET.Element(_q("x", "xmpmeta"))
    if root.tag != _q("x", "xmpmeta"):
        if root.tag != f"{{{RDF}}}RDF":
            raise XmpError(f"the XMP packet's root is {root.tag}, not x:xmpmeta or rdf:RDF")
        wrapper = ET.Element(_q("x", "xmpmeta"))
        wrapper.append(root)
        root = wrapper
    rdf = root.find(f"{{{RDF}}}RDF")
    if rdf is None:
        rdf = ET.SubElement(root, f"{{{RDF}}}RDF")
    for extended in packets[1:]:  # a JPEG's extended XMP: its properties join the main packet's
        rdf.extend(_parse(extended).iter(f"{{{RDF}}}Description"))
    descriptions = rdf.findall(f"{{{RDF}}}Description")
    for description in descriptions:  # one packet now: no pointer to an extended one
        description.attrib.pop(HAS_EXTENDED, None)
        for element in description.findall(HAS_EXTENDED):
            description.remove(element)
    if not descriptions:
        descriptions = [ET.SubElement(rdf, f"{{{RDF}}}Description", {f"{{{RDF}}}about": ""})]
    names = [r.name for r in regions] + list(without_region)
    ours = {name.casefold() for name in names}
    earlier = [_written_entry(v) for d in descriptions for v in _items(d, WRITTEN)]
    mine = {name.casefold() for of, name in earlier if of == project}
    there = {n.casefold() for n in _named_in(descriptions, orientation, stored_size)}  # before this write
    withdrawn = mine - ours  # what this project wrote before and is not to write now: nothing else
    written = [f"{of}/{name}" for of, name in earlier if of != project] + [
        f"{project}/{name}" for name in names if name.casefold() in mine or name.casefold() not in there]
    kept, dropped_names = _kept_regions(descriptions, regions, orientation, stored_size, withdrawn)
    dropped = (dropped_names | withdrawn) - ours
    lists = {
        "PersonInImage": _merged(descriptions, _q("Iptc4xmpExt", "PersonInImage"), names,
                                 lambda v: v.casefold() in dropped),
        "TagsList": _merged(descriptions, _q("digiKam", "TagsList"), _keywords(names, "/"),
                            lambda v: v.startswith(PEOPLE_TAG + "/") and v[len(PEOPLE_TAG) + 1:].casefold() in dropped),
        "hierarchicalSubject": _merged(descriptions, _q("lr", "hierarchicalSubject"), _keywords(names, "|"),
                                       lambda v: v.startswith(PEOPLE_TAG + "|")
                                       and v[len(PEOPLE_TAG) + 1:].casefold() in dropped),
        "subject": _merged(descriptions, _q("dc", "subject"), names, lambda v: v.casefold() in dropped),
        "Written": _merged(descriptions, WRITTEN, written, lambda v: True),
    }
    target = descriptions[0]
    _regions_element(target, kept, regions, width, height)
    for (prop, kind), values in zip(((_q("Iptc4xmpExt", "PersonInImage"), "Bag"), (_q("digiKam", "TagsList"), "Seq"),
                                     (_q("lr", "hierarchicalSubject"), "Bag"), (_q("dc", "subject"), "Bag"),
                                     (WRITTEN, "Bag")), lists.values()):
        if values:
            array = ET.SubElement(ET.SubElement(target, prop), f"{{{RDF}}}{kind}")
            for value in values:
                ET.SubElement(array, f"{{{RDF}}}li").text = value
    for prefix, uri in {**{k: v for packet in packets for k, v in _prefixes(packet).items()}, **NAMESPACES}.items():
        ET.register_namespace(prefix, uri)
    body = ET.tostring(root, encoding="unicode")
    return (_PACKET_HEAD + body + _PACKET_TAIL).encode("utf-8")


def written_names(packets: bytes | Sequence[bytes], project: str = "") -> list[str]:
    """The names an export of `project` wrote into a packet and that were not there before it (none for a
    packet peoplegraph never wrote)."""
    return [name for root in [_parse(p) for p in ([packets] if isinstance(packets, bytes) else packets)]
            for d in root.iter(f"{{{RDF}}}Description") for of, name in map(_written_entry, _items(d, WRITTEN))
            if of == project]


def _written_entry(value: str) -> tuple[str, str]:
    """A `peoplegraph:Written` item, "project/name" (a project name holds no "/"), as (project, name)."""
    project, _, name = value.partition("/")
    return (project, name) if name else ("", value)


def _named_in(descriptions: list[ET.Element], orientation: int, stored_size: tuple[int, int] | None) -> list[str]:
    """Every name the packet gives already: face regions, PersonInImage, People keywords, dc:subject."""
    names: list[str] = []
    for description in descriptions:
        regions = _property(description, _q("mwg-rs", "Regions"))
        if isinstance(regions, ET.Element):
            found, empty = _face_regions(regions, orientation, stored_size)
            names += [r.name for r in found] + empty
        names += _items(description, _q("Iptc4xmpExt", "PersonInImage")) + _items(description, _q("dc", "subject"))
        names += [k[len(PEOPLE_TAG) + 1:] for k in _items(description, _q("digiKam", "TagsList"))
                  + _items(description, _q("lr", "hierarchicalSubject")) if k[:len(PEOPLE_TAG) + 1] in
                  (PEOPLE_TAG + "/", PEOPLE_TAG + "|")]
    return names


def _prefixes(packet: bytes) -> dict[str, str]:
    """The namespace prefixes a packet declares, so that a merge writes them back as they were."""
    found: dict[str, str] = {}
    packet = packet[max(packet.find(b"<"), 0):packet.rfind(b">") + 1]
    for _, (prefix, uri) in ET.iterparse(io.BytesIO(packet), events=("start-ns",)):
        if prefix and not prefix.startswith("ns") and uri not in NAMESPACES.values():
            found[prefix] = uri
    return found


def _keywords(names: Sequence[str], separator: str) -> list[str]:
    """People keywords (People/Name, People|Name); a name holding the separator would read as a nested tag,
    so it is named by its region (if it has one) and PersonInImage alone."""
    return [f"{PEOPLE_TAG}{separator}{name}" for name in names if separator not in name]


def _kept_regions(descriptions: list[ET.Element], regions: Sequence[FaceRegion], orientation: int,
                  stored_size: tuple[int, int] | None, withdrawn: set[str]) -> tuple[list[ET.Element], set[str]]:
    """The region list entries to keep, in the viewer's orientation (the Regions properties are removed from
    the tree), and the names of the face regions the new ones replace; face regions of `withdrawn` names
    (casefolded: written by peoplegraph before, not now) go."""
    kept: list[ET.Element] = []
    dropped: set[str] = set()
    ours = {r.name.casefold() for r in regions}
    for description in descriptions:
        element = description.find(_q("mwg-rs", "Regions"))
        if element is None:
            continue
        holder = element.find(f"{{{RDF}}}Description")
        holder = holder if holder is not None else element
        turn = _stored_turn(holder, orientation, stored_size)
        for entry in _region_entries(holder):
            found = _face_region(entry, turn)
            name = found.name if isinstance(found, FaceRegion) else found
            replaced = isinstance(found, FaceRegion) and any(iou(found.box, r.box) >= OVERLAP_REPLACED for r in regions)
            if name and (name.casefold() in ours or replaced or isinstance(found, FaceRegion)
                         and name.casefold() in withdrawn):
                dropped.add(name.casefold())
                continue
            if turn != 1:
                _turn_area(entry, turn)
            kept.append(entry)
        description.remove(element)
    return kept, dropped


def _turn_area(entry: ET.Element, orientation: int) -> None:
    """A region's area (centre x, y, w, h) from the stored pixels into the viewer's orientation."""
    area = _property(entry, _q("mwg-rs", "Area"))
    if not isinstance(area, ET.Element):
        return
    x, y, w, h = (_number(area, _q("stArea", k)) for k in ("x", "y", "w", "h"))
    if x is None or y is None:
        return
    w, h = w or 0.0, h or 0.0
    x1, y1, x2, y2 = to_viewer((x - w / 2, y - h / 2, x + w / 2, y + h / 2), orientation)
    for key, value in (("x", (x1 + x2) / 2), ("y", (y1 + y2) / 2), ("w", x2 - x1), ("h", y2 - y1)):
        name = _q("stArea", key)
        child = area.find(name)
        if name in area.attrib or child is None:
            area.set(name, f"{value:.6f}")
        else:
            child.text = f"{value:.6f}"


def _merged(descriptions: list[ET.Element], name: str, ours: list[str], drop) -> list[str]:
    """An array property's values from every description (each then removed), less the dropped ones, plus
    ours (each once)."""
    values: list[str] = []
    for description in descriptions:
        values += _items(description, name)
        description.attrib.pop(name, None)
        for element in description.findall(name):
            description.remove(element)
    seen: set[str] = set()
    out = []
    for value in [v for v in values if not drop(v)] + ours:
        if value.casefold() not in seen:
            seen.add(value.casefold())
            out.append(value)
    return out


def _regions_element(target: ET.Element, kept: list[ET.Element], regions: Sequence[FaceRegion], width: int,
                     height: int) -> None:
    if not kept and not regions:
        return
    element = ET.SubElement(target, _q("mwg-rs", "Regions"), {f"{{{RDF}}}parseType": "Resource"})
    ET.SubElement(element, _q("mwg-rs", "AppliedToDimensions"), {
        _q("stDim", "w"): str(int(width)), _q("stDim", "h"): str(int(height)), _q("stDim", "unit"): "pixel"})
    bag = ET.SubElement(ET.SubElement(element, _q("mwg-rs", "RegionList")), f"{{{RDF}}}Bag")
    for entry in kept:
        ET.SubElement(bag, f"{{{RDF}}}li").append(entry if entry.tag == f"{{{RDF}}}Description" else _as_description(entry))
    for region in regions:
        x1, y1, x2, y2 = region.box
        description = ET.SubElement(ET.SubElement(bag, f"{{{RDF}}}li"), f"{{{RDF}}}Description")
        ET.SubElement(description, _q("mwg-rs", "Name")).text = region.name
        ET.SubElement(description, _q("mwg-rs", "Type")).text = "Face"
        ET.SubElement(description, _q("mwg-rs", "Area"), {
            _q("stArea", "x"): f"{(x1 + x2) / 2:.6f}", _q("stArea", "y"): f"{(y1 + y2) / 2:.6f}",
            _q("stArea", "w"): f"{x2 - x1:.6f}", _q("stArea", "h"): f"{y2 - y1:.6f}",
            _q("stArea", "unit"): "normalized"})


def _as_description(li: ET.Element) -> ET.Element:
    """A region entry written on its rdf:li (parseType Resource) as an rdf:Description."""
    description = ET.Element(f"{{{RDF}}}Description",
                             {k: v for k, v in li.attrib.items() if k != f"{{{RDF}}}parseType"})
    description.extend(list(li))
    return description
