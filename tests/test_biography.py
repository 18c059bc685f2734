"""A person's biography rendered from Markdown for the web UI: Markdown's structure survives, script and
unsafe links do not (peoplegraph.services.biography), and GraphQL serves it as `biographyHtml`."""

from __future__ import annotations

from peoplegraph.graphql.identity import Person
from peoplegraph.identity.records import PersonRecord
from peoplegraph.services.biography import biography_html

MARKDOWN = """# Early life
Born in *Harlem*, **raised** in the Bronx; see [Wikipedia](https://en.wikipedia.org/wiki/Colin_Powell).

- soldier
- statesman

<script>alert("bio")</script>
<img src=x onerror="alert(1)">
A [trap](javascript:alert(1)), [another](JavaScript:alert(2)) and [data](data:text/html,<b>x</b>).
"""


def test_markdown_structure_survives() -> None:
    html = biography_html(MARKDOWN)
    assert "<h3>Early life</h3>" in html  # headings two levels down: the page has its h1 and h2
    assert "<em>Harlem</em>" in html and "<strong>raised</strong>" in html
    assert "<ul>\n<li>soldier</li>\n<li>statesman</li>\n</ul>" in html
    assert ('<a href="https://en.wikipedia.org/wiki/Colin_Powell" rel="nofollow noopener noreferrer" '
            'target="_blank">Wikipedia</a>') in html


def test_script_raw_html_and_unsafe_links_do_not_survive() -> None:
    html = biography_html(MARKDOWN)
    assert "<script" not in html and "&lt;script&gt;" in html  # shown as text, never run
    assert "<img" not in html
    assert 'href="javascript' not in html.lower() and 'href="data' not in html.lower()
    hrefs = [part.split('"')[1] for part in html.split('href=')[1:]]
    assert hrefs == ["https://en.wikipedia.org/wiki/Colin_Powell"]


def test_empty_biography_is_empty() -> None:
    assert biography_html("") == "" and biography_html("  \n") == ""


def test_graphql_person_serves_it_and_withholds_a_private_ones() -> None:
    record = PersonRecord("p", "colin", "Colin Powell", biography="*General*")
    assert Person.of(record).biography_html() == "<p><em>General</em></p>\n"
    private = PersonRecord("p", "colin", "Colin Powell", biography="*General*", visibility="private")
    assert Person.of(private).biography_html() is None
