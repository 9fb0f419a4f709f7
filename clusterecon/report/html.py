"""A tiny two-format page builder for the ``analyse`` report: the same blocks rendered as HTML and Markdown.

Text blocks take a small Markdown subset (``**bold**``, ``*italic*``, ``[text](href)``) that is escaped and
converted for HTML; table blocks take an HTML fragment from the table engine plus download links. Kept here rather
than a templating library (jinja2 is not a dependency) because the page is a flat list of blocks.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

import pandas as pd

from .render import TABLE_CSS

PAGE_CSS = """
body { font-family: -apple-system, 'Segoe UI', Helvetica, Arial, sans-serif; max-width: 60em; margin: 2em auto;
  padding: 0 1em; line-height: 1.45; color: #222; }
h1, h2, h3 { font-weight: 600; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2em; margin-top: 2em; }
table.frame { border-collapse: collapse; font-size: 0.9em; margin: 0.8em 0; }
table.frame th, table.frame td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; vertical-align: top; }
table.frame th { background: #f4f4f4; }
figure { margin: 1em 0; } figure img { max-width: 100%; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; }
p.links { font-size: 0.85em; color: #555; }
pre { background: #f7f7f7; padding: 0.8em; overflow-x: auto; font-size: 0.85em; }
""".strip()

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def inline_html(text: str) -> str:
    """Escape ``text`` and convert the Markdown subset (bold, italic, links) to HTML."""
    s = html.escape(str(text), quote=False)
    s = _LINK.sub(lambda m: f'<a href="{html.escape(m[2])}">{m[1]}</a>', s)
    s = _BOLD.sub(r"<strong>\1</strong>", s)
    return _ITALIC.sub(r"<em>\1</em>", s)


def md_table(df: pd.DataFrame) -> str:
    """A pipe table of a frame (cells as text; pipes and line breaks escaped)."""
    def cell(v: object) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        return str(v).replace("|", "\\|").replace("\n", " ")

    cols = [cell(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v) for v in row) + " |")
    return "\n".join(lines) + "\n"


def frame_html(df: pd.DataFrame, *, standalone: bool = False, title: str = "", links: bool = False) -> str:
    """A frame as a plain bordered HTML table (``links=True`` converts ``[text](href)`` cells)."""
    if links:  # escape the cells ourselves so that the link markup can be converted after to_html
        df = df.map(lambda v: html.escape(v, quote=False) if isinstance(v, str) else v)
        df.index = pd.Index([html.escape(str(i), quote=False) for i in df.index], name=df.index.name)
    body = df.to_html(classes="frame", border=0, na_rep="", escape=not links)
    if links:
        body = _LINK.sub(lambda m: f'<a href="{html.escape(m[2])}">{m[1]}</a>', body)
    if standalone:
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>\n"
                f"<style>\n{PAGE_CSS}\n</style></head><body>\n{body}\n</body></html>\n")
    return body


class Page:
    """An ordered list of blocks, each kept as (HTML, Markdown)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.blocks: list[tuple[str, str]] = []

    def heading(self, text: str, level: int = 2, anchor: str | None = None) -> None:
        ident = f' id="{html.escape(anchor)}"' if anchor else ""
        md_anchor = f'<a id="{anchor}"></a>\n\n' if anchor else ""
        self.blocks.append((f"<h{level}{ident}>{html.escape(text)}</h{level}>", f"{md_anchor}{'#' * level} {text}"))

    def para(self, text: str) -> None:
        self.blocks.append((f"<p>{inline_html(text)}</p>", text))

    def bullets(self, items: Iterable[str]) -> None:
        items = list(items)
        self.blocks.append(("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in items) + "</ul>",
                            "\n".join(f"- {i}" for i in items)))

    def pre(self, text: str) -> None:
        self.blocks.append((f"<pre>{html.escape(text)}</pre>", f"```\n{text.rstrip()}\n```"))

    def frame(self, df: pd.DataFrame, *, links: bool = False) -> None:
        """A small data frame shown in the page (no index)."""
        d = df.reset_index(drop=True)
        self.blocks.append((frame_html(d.set_index(d.columns[0]) if len(d.columns) > 1 else d, links=links),
                            md_table(d)))

    def raw_table(self, table_html: str, table_md: str, links: Sequence[tuple[str, str]]) -> None:
        """A table (HTML fragment, Markdown text) followed by links to its files."""
        link_html = " · ".join(f'<a href="{html.escape(h)}">{html.escape(t)}</a>' for t, h in links)
        md_links = " · ".join(f"[{t}]({h})" for t, h in links)
        md = (table_md + "\n" if table_md else "") + (f"Files: {md_links}" if links else "")
        if not table_md:
            md_file = next((h for t, h in links if h.endswith(".md")), None)
            if md_file:
                md = f"Table: [{md_file}]({md_file}). Files: {md_links}"
        self.blocks.append((table_html + (f'<p class="links">Files: {link_html}</p>' if links else ""), md))

    def figure(self, png: str, pdf: str, caption: str) -> None:
        self.blocks.append((f'<figure><img src="{html.escape(png)}" alt="{html.escape(caption)}">'
                            f'<figcaption>{inline_html(caption)} <a href="{html.escape(pdf)}">PDF</a></figcaption>'
                            "</figure>",
                            f"![{caption}]({png})\n\n{caption} ([PDF]({pdf}))"))

    def html(self) -> str:
        body = "\n".join(h for h, _ in self.blocks)
        return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                f"<title>{html.escape(self.title)}</title>\n<style>\n{PAGE_CSS}\n{TABLE_CSS}\n</style></head>\n"
                f"<body>\n<h1>{html.escape(self.title)}</h1>\n{body}\n</body></html>\n")

    def markdown(self) -> str:
        return f"# {self.title}\n\n" + "\n\n".join(m for _, m in self.blocks if m) + "\n"
