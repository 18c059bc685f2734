"""The web UI's people section in a real browser (chromium) against a real `peoplegraph serve`: the list and its
search, a person's page (the biography's Markdown rendered and its script not, teams, relations, events,
photos opened large and as originals, co-appearances, the portfolio), editing a person and undoing it, and
merging two people who disagree with the editor choosing whose values win.

The project: real LFW photos of Colin Powell and Tony Blair and one photo of the two side by side; Colin
Powell's faces split in two clusters named as two people ("Colin Powell", "General Powell") whose birth
dates differ, as a library that named one man twice would have."""

from __future__ import annotations

import hashlib
import re
import shutil
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from browser import screenshot
from live_server import LiveServer, running_server
from PIL import Image
from playwright.sync_api import Browser, Page, expect

P = "news"
TIMEOUT_MS = 15_000
BIOGRAPHY = """# Early life
Born in *Harlem* to Jamaican immigrants, **raised** in the South Bronx; see
[Wikipedia](https://en.wikipedia.org/wiki/Colin_Powell).

## Career
- soldier
- statesman

<script>window.biographyRan = true</script>
A [trap](javascript:window.biographyRan=true) to click.
"""


class People:
    """What the module's tests share: the server, an editor's key, the people's ids, the photos' ids."""

    def __init__(self, server: LiveServer, editor_key: str, ids: dict[str, str], photos: dict[str, str]) -> None:
        self.server, self.editor_key, self.ids, self.photos = server, editor_key, ids, photos


def _graphql(client: httpx.Client, query: str, **variables: object) -> dict:
    answer = client.post("/graphql", json={"query": query, "variables": variables})
    body = answer.json()
    assert answer.status_code == 200 and not body.get("errors"), body
    return body["data"]


def _clusters(client: httpx.Client) -> list[dict]:
    return _graphql(client, "query($p: String!) { clusters(project: $p) { id photoIds } }", p=P)["clusters"]


@pytest.fixture(scope="module")
def people(shared_data: Path, model_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[People]:
    root = tmp_path_factory.mktemp("web-people")
    lfw = shared_data / "lfw-devtrain"
    colin = sorted((lfw / "Colin_Powell").glob("*.jpg"))[:6]
    tony = sorted((lfw / "Tony_Blair").glob("*.jpg"))[:5]
    photos = root / "photos"
    photos.mkdir()
    both = Image.new("RGB", (500, 250))  # the two men side by side: a co-appearance
    both.paste(Image.open(colin[5]), (0, 0))
    both.paste(Image.open(tony[4]), (250, 0))
    both.save(photos / "powell-and-blair.jpg", quality=92)
    for path in colin[:5] + tony[:4]:
        shutil.copy(path, photos / path.name)
    photo_ids = {path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in photos.iterdir()}

    with running_server(root / "data", model_dir) as server:
        server.cli("ingest", "--project", P, str(photos))
        with httpx.Client(base_url=server.url, timeout=120,
                          headers={"Authorization": f"Bearer {server.key('setup')}"}) as client:
            ids = _name_people(client, photo_ids)
            _describe_people(client, ids, photo_ids)
        yield People(server, server.key("editor-eve", "editor", P), ids, photo_ids)


def _name_people(client: httpx.Client, photo_ids: dict[str, str]) -> dict[str, str]:
    """Colin Powell's cluster split in two and each half named (as two people), Tony Blair's named."""
    def cluster_of(name: str) -> int:
        return next(c["id"] for c in _clusters(client) if photo_ids[name] in c["photoIds"])

    colin, tony = cluster_of("Colin_Powell_0001.jpg"), cluster_of("Tony_Blair_0001.jpg")
    assert colin != tony
    faces = client.get(f"/projects/{P}/clusters/{colin}/faces").json()
    apart = [f["face_id"] for f in faces if f["photo_id"] in (photo_ids["Colin_Powell_0004.jpg"],
                                                              photo_ids["Colin_Powell_0005.jpg"])]
    assert len(apart) == 2, faces
    _graphql(client, "mutation($p: String!, $c: Int!, $f: [ID!]!) { splitCluster(project: $p, clusterId: $c, "
             "faceIds: $f) { action } }", p=P, c=colin, f=apart)
    general = cluster_of("Colin_Powell_0004.jpg")
    colin = cluster_of("Colin_Powell_0001.jpg")
    assert len({colin, general, tony}) == 3
    ids = {}
    for cluster, name in ((colin, "Colin Powell"), (general, "General Powell"), (tony, "Tony Blair")):
        done = _graphql(client, "mutation($p: String!, $c: Int!, $n: String!) { confirmCluster(project: $p, "
                        "clusterId: $c, name: $n) { personId } }", p=P, c=cluster, n=name)
        ids[name] = done["confirmCluster"]["personId"]
    return ids


def _describe_people(client: httpx.Client, ids: dict[str, str], photo_ids: dict[str, str]) -> None:
    colin, general, tony = ids["Colin Powell"], ids["General Powell"], ids["Tony Blair"]
    edit = ("mutation($p: String!, $id: String!, $born: String, $bio: String, $aliases: [String!], "
            "$ids: [ExternalIdInput!]) { editPerson(project: $p, id: $id, born: $born, biography: $bio, "
            "addAliases: $aliases, externalIds: $ids) { id } }")
    _graphql(client, edit, p=P, id=colin, born="1937-04-05", bio=BIOGRAPHY, aliases=["Colin Luther Powell"],
             ids=[{"source": "wikidata", "id": "Q150851"}])
    _graphql(client, edit, p=P, id=general, born="1937-04-06")  # the conflict a merge must settle
    _graphql(client, 'mutation($p: String!) { addOrganisation(project: $p, id: "us-army", name: "U.S. Army", '
             'kind: "army") { id } }', p=P)
    _graphql(client, 'mutation($p: String!, $id: String!) { addMembership(project: $p, personId: $id, '
             'organisationId: "us-army", role: "General", since: "1958", until: "1993") { role } }', p=P, id=colin)
    _graphql(client, 'mutation($p: String!, $a: String!, $b: String!) { addRelation(project: $p, personId: $a, '
             'kind: "colleague", otherId: $b) { kind } }', p=P, a=tony, b=colin)
    _graphql(client, 'mutation($p: String!) { addEvent(project: $p, id: "summit", name: "Washington summit", '
             'date: "2003-01-31", place: "Washington") { id } }', p=P)
    _graphql(client, 'mutation($p: String!, $photos: [String!]!) { tagPhotosWithEvent(project: $p, '
             'eventId: "summit", photoIds: $photos) { photos } }', p=P, photos=[photo_ids["powell-and-blair.jpg"]])


def _signed_in(browser: Browser, people: People, hash_: str = "#/people", width: int = 1280) -> Page:
    """A fresh browser context signed in through the form with the editor's key, on `hash_`."""
    context = browser.new_context(viewport={"width": width, "height": 900})
    context.set_default_timeout(TIMEOUT_MS)
    page = context.new_page()
    problems: list[str] = []
    page.on("pageerror", lambda error: problems.append(str(error)))
    page.problems = problems  # type: ignore[attr-defined]
    page.goto(people.server.url + "/" + hash_)
    page.get_by_label("API key").fill(people.editor_key)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#bar")).to_be_visible()
    return page


def _until(page: Page, condition: str, timeout_s: float = TIMEOUT_MS / 1000) -> None:
    """Waits for the JavaScript expression to be true (page.wait_for_function evaluates strings, which the
    page's Content-Security-Policy forbids)."""
    deadline = time.monotonic() + timeout_s
    while not page.evaluate(f"() => Boolean({condition})"):
        assert time.monotonic() < deadline, f"still false after {timeout_s} s: {condition}"
        time.sleep(0.1)


def _person_url(people: People, name: str) -> str:
    return f"#/people/{people.ids[name]}"


def _closed(page: Page) -> None:
    problems = page.problems  # type: ignore[attr-defined]
    page.context.close()
    assert not problems, problems


def _accessible(page: Page) -> None:
    """Every field labelled, every image with alt text, headings without a skipped level."""
    report = page.evaluate("""() => {
      const unlabelled = [...document.querySelectorAll("main input, main select, main textarea")]
        .filter((el) => el.type !== "hidden" && !el.labels.length && !el.getAttribute("aria-label"))
        .map((el) => el.id || el.outerHTML);
      const noAlt = [...document.querySelectorAll("main img")].filter((img) => !img.hasAttribute("alt"))
        .map((img) => img.src);
      const levels = [...document.querySelectorAll("main h1, main h2, main h3, main h4, main h5, main h6")]
        .filter((el) => el.offsetParent !== null).map((el) => Number(el.tagName[1]));
      const skips = levels.filter((level, i) => i > 0 && level > levels[i - 1] + 1);
      return { unlabelled, noAlt, levels, skips, first: levels[0] };
    }""")
    assert report["unlabelled"] == [] and report["noAlt"] == [], report
    assert report["first"] == 1 and report["skips"] == [], report


def test_the_list_finds_people_by_name_and_alias(browser: Browser, people: People) -> None:
    page = _signed_in(browser, people)
    cards = page.locator(".people-list .person-card")
    expect(cards).to_have_count(3)
    expect(page.locator("#people-count")).to_have_text("3 people.")
    expect(cards.first).to_contain_text("Colin Powell")
    expect(cards.first).to_contain_text("also Colin Luther Powell")
    expect(cards.first).to_contain_text("4 photos")
    expect(page.locator(".people-list .portrait img")).to_have_count(3)  # each one's face beside the name
    _until(page, "[...document.querySelectorAll('.people-list img')].every((i) => i.naturalWidth > 0)")
    _accessible(page)
    screenshot(page, "people-list")

    page.get_by_label("Search people").fill("luther")  # an alias
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text("Colin Powell")
    page.get_by_label("Search people").fill("BLAIR")
    expect(cards).to_have_count(1)
    expect(cards).to_contain_text("Tony Blair")
    page.get_by_label("Search people").fill("nobody at all")
    expect(cards).to_have_count(0)
    expect(page.locator("#people-count")).to_contain_text("No one's name or alias holds")
    page.get_by_label("Search people").fill("")
    expect(cards).to_have_count(3)
    cards.filter(has_text="Tony Blair").click()
    expect(page).to_have_url(re.compile(re.escape(_person_url(people, "Tony Blair")) + "$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Tony Blair")
    _closed(page)


def test_the_person_page_shows_them_and_their_photos(browser: Browser, people: People) -> None:
    page = _signed_in(browser, people, _person_url(people, "Colin Powell"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Colin Powell")
    head = page.locator(".person-head")
    expect(head).to_contain_text("Also known as Colin Luther Powell")
    expect(head.locator("dl.facts")).to_contain_text("Born1937-04-05")
    expect(head).to_contain_text("wikidata: Q150851")

    # the biography: Markdown rendered, its script shown as text and never run, the javascript: link inert
    biography = page.locator(".biography")
    expect(biography.locator("h3")).to_have_text("Early life")
    expect(biography.locator("h4")).to_have_text("Career")
    expect(biography.locator("em")).to_have_text("Harlem")
    expect(biography.locator("li")).to_have_text(["soldier", "statesman"])
    link = biography.get_by_role("link", name="Wikipedia")
    expect(link).to_have_attribute("href", "https://en.wikipedia.org/wiki/Colin_Powell")
    expect(link).to_have_attribute("rel", "nofollow noopener noreferrer")
    assert biography.locator("script").count() == 0
    expect(biography).to_contain_text("<script>window.biographyRan = true</script>")
    assert biography.locator("a").count() == 1  # the trap stays text
    assert page.evaluate("window.biographyRan") is None

    # teams, relations, events, co-appearances
    expect(page.locator("table").filter(has_text="Organisation")).to_contain_text("U.S. Army")
    expect(page.locator(".relations li")).to_have_text("Tony Blair is colleague of Colin Powell")
    expect(page.locator(".events li")).to_contain_text("Washington summit (2003-01-31, Washington) — 1 photo")
    co = page.locator(".co-appearances li")
    expect(co).to_have_text("Tony Blair — 1 photo together")
    expect(co.get_by_role("link")).to_have_attribute("href", _person_url(people, "Tony Blair"))

    # photos: thumbnails that load; one opened large, then its original in a new tab; the portfolio
    thumbnails = page.locator(".photos img")
    expect(page.get_by_role("heading", name="Photos (4)")).to_be_visible()
    expect(thumbnails).to_have_count(4)
    page.locator(".photos").scroll_into_view_if_needed()  # lazy images load when near the screen
    _until(page, "[...document.querySelectorAll('.photos img')].every((i) => i.complete && i.naturalWidth > 0)")
    expect(thumbnails.first).to_have_attribute("alt", re.compile(r"^Colin Powell, photo 1 of 4"))
    _accessible(page)
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "person-page")

    thumbnails.first.click()
    viewer = page.locator("dialog.viewer")
    expect(viewer).to_be_visible()
    large = viewer.locator("img")
    expect(large).to_have_attribute("src", re.compile(r"/thumbnail\?side=1280$"))
    _until(page, "document.querySelector('dialog.viewer img').naturalWidth > 0")
    with page.context.expect_page() as opened:
        viewer.get_by_role("link", name="Open the original (new tab)").click()
    original = opened.value
    original.wait_for_load_state()
    assert re.search(rf"/projects/{P}/photos/[0-9a-f]{{64}}/original$", original.url), original.url
    photo_id = original.url.rsplit("/", 2)[-2]
    assert photo_id in people.photos.values()
    answer = page.request.get(original.url)  # the browser's session reaches it
    assert answer.ok and answer.headers["content-type"].startswith("image/")
    original.close()
    viewer.get_by_role("button", name="Close").click()
    expect(viewer).to_be_hidden()

    portfolio = page.get_by_role("link", name="Download portfolio (zip)")
    answer = page.request.get(people.server.url + portfolio.get_attribute("href"))
    assert answer.ok and answer.headers["content-type"] == "application/zip"
    assert answer.headers["x-export-photos"] == "4"

    # a phone's width: nothing wider than the screen
    page.set_viewport_size({"width": 360, "height": 800})
    assert page.evaluate("document.documentElement.scrollWidth") <= 360
    page.evaluate("window.scrollTo(0, 0)")
    screenshot(page, "person-page-360")
    _closed(page)


def test_an_edit_is_saved_and_undone(browser: Browser, people: People) -> None:
    page = _signed_in(browser, people, _person_url(people, "Colin Powell"))
    page.get_by_role("button", name="Edit").click()
    form = page.locator("#person-edit")
    expect(form).to_be_visible()
    _accessible(page)
    page.get_by_label("Born").fill("1937-04-07")
    page.get_by_label("Add aliases").fill("Secretary Powell")
    page.get_by_label("Biography (Markdown)").fill("*Sixty-fifth* Secretary of State.")
    form.get_by_role("button", name="Save").click()

    toast = page.locator(".toast").filter(has_text="Saved Colin Powell")
    expect(toast).to_contain_text("born, biography, aliases added")
    head = page.locator(".person-head")
    expect(head.locator("dl.facts")).to_contain_text("Born1937-04-07")
    expect(head).to_contain_text("Also known as Colin Luther Powell, Secretary Powell")
    expect(page.locator(".biography em")).to_have_text("Sixty-fifth")
    expect(page.locator("#person-edit")).to_be_hidden()  # the page drawn again

    toast.get_by_role("button", name="Undo").click()
    expect(head.locator("dl.facts")).to_contain_text("Born1937-04-05")
    expect(head).to_contain_text("Also known as Colin Luther Powell")
    expect(head).not_to_contain_text("Secretary Powell")
    expect(page.locator(".biography h3")).to_have_text("Early life")
    _closed(page)


def test_merging_two_people_who_disagree_asks_whose_values_win(browser: Browser, people: People) -> None:
    page = _signed_in(browser, people, _person_url(people, "Colin Powell"))
    page.get_by_role("button", name="Merge with…").click()
    other = page.get_by_label("Person to merge into this one")
    other.fill("General")
    option = page.locator("#merge-candidates option")
    expect(option).to_have_count(1)  # the suggestions: this person left out
    expect(option).to_have_attribute("value", f"General Powell ({people.ids['General Powell']})")
    other.fill(option.get_attribute("value"))
    page.get_by_role("button", name="Merge into this person").click()

    conflicts = page.locator(".conflicts table")
    expect(conflicts).to_be_visible()
    expect(conflicts.locator("thead")).to_contain_text("Colin Powell (this person)")
    born = conflicts.locator("tbody tr").filter(has_text="born")
    expect(born.locator("td")).to_have_text(["1937-04-05", "1937-04-06"])
    _accessible(page)
    expect(page.get_by_label("Keep this person's (Colin Powell)")).to_be_checked()
    screenshot(page, "person-merge-conflicts")
    page.get_by_label("Take the other's (General Powell)").check()
    page.get_by_role("button", name="Merge with these values").click()

    toast = page.locator(".toast").filter(has_text="Merged General Powell into Colin Powell")
    expect(toast).to_contain_text("General Powell's values won")
    expect(page).to_have_url(re.compile(re.escape(_person_url(people, "Colin Powell")) + "$"))
    head = page.locator(".person-head")
    expect(head.locator("dl.facts")).to_contain_text("Born1937-04-06")
    expect(head).to_contain_text("General Powell")  # the other's name kept as an alias
    expect(page.get_by_role("heading", name="Photos (6)")).to_be_visible()

    toast.get_by_role("button", name="Undo").click()
    expect(head.locator("dl.facts")).to_contain_text("Born1937-04-05")
    expect(page.get_by_role("heading", name="Photos (4)")).to_be_visible()
    page.goto(people.server.url + "/#/people")
    expect(page.locator(".people-list .person-card")).to_have_count(3)  # General Powell is back
    _closed(page)
