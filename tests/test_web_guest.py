"""The guest's page of a share link in a real browser (Debian's chromium) on a phone's screen: open the link
(its password first when it has one), send a selfie, see exactly the photos that person is in, open one large,
download one and all; and the clear messages for a link that does not work and a selfie without a face.
One server with one project of real LFW photos serves every test here."""

from __future__ import annotations

import hashlib
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import numpy as np
import pytest
from browser import screenshot
from live_server import LiveServer, running_server
from PIL import Image

PROJECT = "gala"
GUEST, OTHER, STRANGER = "Colin_Powell", "Tony_Blair", "Serena_Williams"
INGESTED = 4  # photos of each of GUEST and OTHER in the project
PHONE = {"width": 390, "height": 844}
SEARCH_MS = 60_000  # a cold server loads its face models on the first search


@dataclass
class Gala:
    server: LiveServer
    admin: str
    names: dict[str, str]  # the project's photo ids -> their files' names
    selfie: Path  # a photo of GUEST the project does not hold

    def link(self, **body: object) -> dict[str, object]:
        """A new share link (its own rate-limit window: each test searches on a link of its own)."""
        made = httpx.post(f"{self.server.url}/projects/{PROJECT}/share-links", json=body, headers=self.auth)
        assert made.status_code == 201, made.text
        return made.json()

    def share(self, **body: object) -> str:
        return f"{self.server.url}{self.link(**body)['url']}"

    @property
    def auth(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.admin}"}


@pytest.fixture(scope="module")
def gala(shared_data: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gala]:
    lfw = shared_data / "lfw-devtrain"
    guest, other = (sorted((lfw / who).glob("*.jpg")) for who in (GUEST, OTHER))
    with running_server(tmp_path_factory.mktemp("guest") / "data", model_dir) as server:
        server.cli("ingest", "--project", PROJECT, *map(str, guest[:INGESTED] + other[:INGESTED]))
        admin = server.key("share-maker")  # "admin" is the first key's name
        yield Gala(server, admin, _photo_names(server, admin), guest[INGESTED + 4])


def _photo_names(server: LiveServer, admin: str) -> dict[str, str]:
    # what the project itself says it holds, not what the test expects it to
    query = f'query {{ photos(project: "{PROJECT}", limit: 1000) {{ id path }} }}'
    answer = httpx.post(f"{server.url}/graphql", json={"query": query}, headers={"Authorization": f"Bearer {admin}"})
    return {photo["id"]: Path(photo["path"]).name for photo in answer.json()["data"]["photos"]}


@pytest.fixture
def phone(browser) -> Iterator[object]:
    """A page on a phone-sized screen that fails the test on any script error or CSP violation."""
    context = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True, accept_downloads=True)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.on("console", lambda message: problems.append(message.text) if _problem(message) else None)
    yield page
    context.close()
    assert not problems, problems


def _problem(message) -> bool:
    # the API's refusals (404, 400) the page is meant to show are logged by chromium as failed loads
    return message.type == "error" and not message.text.startswith("Failed to load resource")


def _photo_id(url: str) -> str:
    return url.split("/photos/")[1].split("/")[0]  # /share/<token>/photos/<photo id>/<signature>/...


def _wait_for_images(page, selector: str) -> None:
    # a function, not a string: the page's CSP forbids the eval a string predicate would need
    page.wait_for_function("() => [...document.querySelectorAll(%s)].every(i => i.complete && i.naturalWidth > 0)"
                           % json.dumps(selector))


def _search(page, selfie: Path, control: str = "Take a selfie") -> None:
    page.get_by_label(control).set_input_files(str(selfie))


def test_a_guest_sees_and_downloads_exactly_the_photos_they_are_in(phone, gala: Gala) -> None:
    from playwright.sync_api import expect

    page = phone
    page.goto(gala.share(expires_in_hours=48))
    expect(page.locator("label", has_text="Take a selfie")).to_be_visible()
    expect(page.get_by_text("This link works until")).to_be_visible()
    screenshot(page, "guest-link")

    _search(page, gala.selfie)
    expect(page.get_by_role("heading", name=f"You are in {INGESTED} photos")).to_be_visible(timeout=SEARCH_MS)
    expect(page.get_by_role("heading", name=f"You are in {INGESTED} photos")).to_be_focused()
    tiles = page.locator(".gallery img")
    expect(tiles).to_have_count(INGESTED)
    shown = [_photo_id(tiles.nth(i).get_attribute("src")) for i in range(INGESTED)]
    assert sorted(gala.names[p] for p in shown) == sorted(n for n in gala.names.values() if n.startswith(GUEST))
    _wait_for_images(page, ".gallery img")
    screenshot(page, "guest-gallery")

    page.get_by_role("button", name=f"Open photo 1 of {INGESTED}").click()
    viewer = page.get_by_role("dialog")
    expect(viewer.get_by_role("heading", name=f"Photo 1 of {INGESTED}")).to_be_visible()
    _wait_for_images(page, "dialog img")
    assert _photo_id(viewer.get_by_role("img").get_attribute("src")) == shown[0]
    screenshot(page, "guest-photo")
    page.keyboard.press("ArrowRight")
    expect(viewer.get_by_role("heading", name=f"Photo 2 of {INGESTED}")).to_be_visible()
    with page.expect_download() as one:
        viewer.get_by_role("link", name="Download photo 2").click()
    assert hashlib.sha256(Path(one.value.path()).read_bytes()).hexdigest() == shown[1]  # the original itself
    assert one.value.suggested_filename == gala.names[shown[1]]
    page.keyboard.press("Escape")
    expect(viewer).to_be_hidden()
    expect(page.get_by_role("button", name=f"Open photo 2 of {INGESTED}")).to_be_focused()  # back where it was

    with page.expect_download() as everything:
        page.get_by_role("button", name="Download all (zip)").click()
    assert everything.value.suggested_filename == "photos.zip"
    _check_zip(Path(everything.value.path()).read_bytes(), set(shown))

    page.get_by_role("button", name="Search again").click()
    expect(page.get_by_label("Take a selfie")).to_be_focused()
    expect(page.locator(".gallery")).to_have_count(0)


def _check_zip(data: bytes, photo_ids: set[str]) -> None:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        inside = [name for name in archive.namelist() if name.startswith("photos/")]
        assert {hashlib.sha256(archive.read(name)).hexdigest() for name in inside} == photo_ids
        assert len(json.loads(archive.read("manifest.json"))["photos"]) == len(photo_ids)


def test_a_password_link_asks_for_its_password_first(phone, gala: Gala) -> None:
    from playwright.sync_api import expect

    page = phone
    page.goto(gala.share(password="gala2026"))
    password = page.get_by_label("Password")
    expect(password).to_be_focused()
    expect(page.locator("label", has_text="Take a selfie")).to_have_count(0)  # nothing before the password
    password.fill("gala2025")
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("password")  # the server's own words
    expect(password).to_have_attribute("aria-invalid", "true")
    password.fill("gala2026")
    password.press("Enter")
    _search(page, gala.selfie)  # the password kept in the page goes with the search
    expect(page.get_by_role("heading", name=f"You are in {INGESTED} photos")).to_be_visible(timeout=SEARCH_MS)


def test_a_link_that_does_not_work_says_so_and_shows_nothing_else(phone, gala: Gala) -> None:
    from playwright.sync_api import expect

    page = phone
    revoked = gala.link()
    httpx.delete(f"{gala.server.url}/projects/{PROJECT}/share-links/{revoked['link_id']}", headers=gala.auth)
    for url in (f"{gala.server.url}/share/pgs_made-up", f"{gala.server.url}{revoked['url']}"):
        page.goto(url)
        expect(page.get_by_role("heading", name="This link does not work")).to_be_visible()
        expect(page.get_by_role("alert")).to_contain_text("ask for a new one")
        expect(page.locator("input, button")).to_have_count(0)


def test_a_selfie_without_a_face_or_without_a_match_says_so_plainly(phone, gala: Gala, shared_data: Path,
                                                                   tmp_path: Path) -> None:
    from playwright.sync_api import expect

    page = phone
    page.goto(gala.share())
    noise = tmp_path / "wall.jpg"
    pixels = np.random.default_rng(7).integers(90, 160, (480, 640, 3), dtype=np.uint8)
    Image.fromarray(pixels).save(noise)  # a textured wall: an image, but nobody in it
    _search(page, noise, "Choose a photo")
    expect(page.get_by_role("alert")).to_contain_text("no face found", timeout=SEARCH_MS)
    expect(page.locator("label", has_text="Take another selfie")).to_be_visible()  # and the way to try again

    stranger = sorted((shared_data / "lfw-devtrain" / STRANGER).glob("*.jpg"))[0]
    _search(page, stranger, "Choose another photo")
    expect(page.get_by_text("Nobody in these photos matches your selfie.")).to_be_visible(timeout=SEARCH_MS)
    expect(page.locator(".gallery")).to_have_count(0)
