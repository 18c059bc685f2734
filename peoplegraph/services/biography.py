"""A person's biography, Markdown as editors write it, rendered to HTML a browser may insert as it is.

markdown-it-py's "js-default" preset (CommonMark): raw HTML in the Markdown is escaped, never passed through,
and its link validation refuses javascript:, vbscript:, file: and (but for images) data: URLs, so a link or
image with such a URL stays text. Links open in a new tab without the page's window or referrer, and are
marked nofollow. Headings move two levels down (# is <h3>): the page showing the biography has its own h1 and
h2 above it, and its headings stay in order."""

from __future__ import annotations

from markdown_it import MarkdownIt

HEADING_SHIFT = 2
LINK_ATTRIBUTES = {"rel": "nofollow noopener noreferrer", "target": "_blank"}


def _shift_headings(state) -> None:
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + HEADING_SHIFT)}"


def _link_open(renderer, tokens, idx, options, env) -> str:
    for name, value in LINK_ATTRIBUTES.items():
        tokens[idx].attrSet(name, value)
    return renderer.renderToken(tokens, idx, options, env)


def _markdown() -> MarkdownIt:
    md = MarkdownIt("js-default")
    md.core.ruler.push("shift_headings", _shift_headings)
    md.add_render_rule("link_open", _link_open)
    return md


_MD = _markdown()  # rendering keeps its state per call: one instance serves every thread


def biography_html(markdown: str) -> str:
    """The Markdown as safe HTML ("" for an empty biography)."""
    return _MD.render(markdown) if markdown.strip() else ""
