"""A tiny two-format page builder for the ``analyse`` report: the same blocks rendered as HTML and Markdown.

Text blocks (:meth:`Page.para`, :meth:`Page.bullets`) take a small Markdown subset (``**bold**``, ``*italic*``,
``[text](href)``, backslash escapes) written by clusterecon; every user string in them (labels, names, verdict
texts that quote variables, error messages) goes through :func:`md_escape` first, so it shows as text in both
formats. Headings, titles, captions, frame cells and preformatted blocks are plain text and escaped here
(:func:`~clusterecon.report.render.html_escape`). In both formats a line break in a user string is a space (a
preformatted block keeps its lines) and any other control character or bidi override shows as its escape
(``\\x1b``, :func:`~clusterecon._controls.visible_controls`): ``cat report.md`` runs no terminal escape sequence,
and text cannot be reordered to read differently from what it is. Links go
only to ``#anchors`` and relative paths inside the report folder (:func:`safe_href`): no ``javascript:``, no
scheme, no ``..``. Table blocks take an HTML fragment from the table engine (which escapes its cells) plus download
links. Kept here rather than a templating library (jinja2 is not a dependency) because the page is a flat list of
blocks.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence

import pandas as pd

from .render import TABLE_CSS, html_escape, md_escape, md_visible, plain_text

__all__ = ["Page", "frame_html", "inline_html", "md_escape", "md_table", "safe_href"]

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
div.table-wrap { overflow-x: auto; max-width: 100%; }
""".strip()
#: Every table of a page sits in this box: a table wider than the page scrolls inside it, the page does not.
_WRAP = '<div class="table-wrap">{}</div>'


_BOLD = re.compile(r"\*\*(.+?)\*\*")
_ITALIC = re.compile(r"(?<![\w*])\*(?!\s)(.+?)(?<!\s)\*(?![\w*])")
_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")
_ESCAPED = re.compile(r"\\(.)")
_SAFE_HREF = re.compile(r"#[A-Za-z0-9_-]+|(?!/)[A-Za-z0-9_][A-Za-z0-9_./-]*(?:#[A-Za-z0-9_-]+)?")


def safe_href(href: str) -> bool:
    """Whether ``href`` may be linked: an ``#anchor`` or a relative path of plain characters without ``..`` (a
    file the report wrote). Anything else (``javascript:``, ``http:``, ``/etc/...``, ``../x``) is shown as text."""
    return _SAFE_HREF.fullmatch(href) is not None and ".." not in href.split("#")[0].split("/")


def inline_html(text: str) -> str:
    """Convert the Markdown subset (bold, italic, safe links, backslash escapes) to HTML; everything else is
    escaped. A backslash-escaped character is always literal text; a control character is shown as its escape
    (:func:`~clusterecon.report.render.md_visible`), which also frees NUL for the placeholders used here."""
    kept: list[str] = []

    def keep(m: re.Match) -> str:
        kept.append(html.escape(m[1]))
        return f"\x00{len(kept) - 1}\x00"

    s = _ESCAPED.sub(keep, md_visible(text))
    s = html.escape(s, quote=False)
    s = _LINK.sub(lambda m: f'<a href="{html.escape(m[2])}">{m[1]}</a>' if safe_href(html.unescape(m[2]))
                  else m[0], s)
    s = _BOLD.sub(r"<strong>\1</strong>", s)
    s = _ITALIC.sub(r"<em>\1</em>", s)
    return re.sub("\x00(\\d+)\x00", lambda m: kept[int(m[1])], s)


def md_table(df: pd.DataFrame, markup: Sequence[str] = ()) -> str:
    """A pipe table of a frame: cells and column names as text (escaped), except the cells of the columns named in
    ``markup``, which are in the page's Markdown subset (written by clusterecon)."""
    def cell(v: object, raw: bool) -> str:
        if v is None or (isinstance(v, float) and v != v):
            return ""
        return _one_line(md_visible(v)).replace("|", "\\|") if raw else md_escape(v)

    cols = [md_escape(c) for c in df.columns]
    lines = ["| " + " | ".join(cols) + " |", "|" + "|".join("---" for _ in cols) + "|"]
    raw = [c in markup for c in df.columns]
    for row in df.itertuples(index=False):
        lines.append("| " + " | ".join(cell(v, r) for v, r in zip(row, raw)) + " |")
    return "\n".join(lines) + "\n"


def frame_html(df: pd.DataFrame, *, standalone: bool = False, title: str = "", markup: Sequence[str] = ()) -> str:
    """A frame as a plain bordered HTML table. Every cell, index entry and column name is escaped, except the cells
    of the columns (or index) named in ``markup``, converted from the page's Markdown subset. A line break in a
    cell is a space, as in a paragraph (pandas would show it as a literal ``\\n``)."""
    def cell(v: object, raw: bool) -> object:
        if raw:
            return inline_html(_one_line(v))
        return html_escape(v) if isinstance(v, str) else v

    df = df.copy()
    for c in df.columns:
        df[c] = [cell(v, c in markup) for v in df[c]]
    df.index = pd.Index([cell(i, df.index.name in markup) for i in df.index],
                        name=None if df.index.name is None else html_escape(df.index.name))
    df.columns = [html_escape(c) for c in df.columns]
    body = df.to_html(classes="frame", border=0, na_rep="", escape=False)
    if standalone:
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{html_escape(title)}</title>\n"
                f"<style>\n{PAGE_CSS}\n</style></head><body>\n{body}\n</body></html>\n")
    return body


class Page:
    """An ordered list of blocks, each kept as (HTML, Markdown)."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.blocks: list[tuple[str, str]] = []

    def heading(self, text: str, level: int = 2, anchor: str | None = None) -> None:
        """A heading (plain text); ``anchor`` is reduced to letters, digits, ``_`` and ``-``."""
        anchor = re.sub(r"[^A-Za-z0-9_-]", "", anchor or "")
        ident = f' id="{anchor}"' if anchor else ""
        md_anchor = f'<a id="{anchor}"></a>\n\n' if anchor else ""
        self.blocks.append((f"<h{level}{ident}>{html_escape(text)}</h{level}>",
                            f"{md_anchor}{'#' * level} {md_escape(text)}"))

    def para(self, text: str) -> None:
        """A paragraph in the Markdown subset (escape user parts with :func:`md_escape`)."""
        self.blocks.append((f"<p>{inline_html(text)}</p>", _one_line(md_visible(text))))

    def bullets(self, items: Iterable[str]) -> None:
        """A bullet list; items in the Markdown subset (escape user parts with :func:`md_escape`)."""
        items = list(items)
        self.blocks.append(("<ul>" + "".join(f"<li>{inline_html(i)}</li>" for i in items) + "</ul>",
                            "\n".join(f"- {_one_line(md_visible(i))}" for i in items)))

    def pre(self, text: str) -> None:
        """Preformatted plain text (lines and tabs kept, other controls shown as escapes); the Markdown fence is
        longer than any run of backticks in ``text``."""
        text = plain_text(text, keep="\n\t")
        fence = "`" * max(3, 1 + max((len(r) for r in re.findall("`+", text)), default=0))
        self.blocks.append((f"<pre>{html.escape(text)}</pre>", f"{fence}\n{text.rstrip()}\n{fence}"))

    def frame(self, df: pd.DataFrame, *, markup: Sequence[str] = ()) -> None:
        """A small data frame shown in the page (no index); cells of the ``markup`` columns are in the Markdown
        subset (user parts escaped with :func:`md_escape`), all others plain text."""
        d = df.reset_index(drop=True)
        self.blocks.append((_WRAP.format(frame_html(d.set_index(d.columns[0]) if len(d.columns) > 1 else d,
                                                    markup=markup)), md_table(d, markup=markup)))

    def raw_table(self, table_html: str, table_md: str, links: Sequence[tuple[str, str]]) -> None:
        """A table (HTML fragment, Markdown text) followed by links to its files."""
        links = [(t, h) for t, h in links if safe_href(h)]
        link_html = " · ".join(f'<a href="{html.escape(h)}">{html_escape(t)}</a>' for t, h in links)
        md_links = " · ".join(f"[{md_escape(t)}]({h})" for t, h in links)
        md = (table_md + "\n" if table_md else "") + (f"Files: {md_links}" if links else "")
        if not table_md:
            md_file = next((h for t, h in links if h.endswith(".md")), None)
            if md_file:
                md = f"Table: [{md_file}]({md_file}). Files: {md_links}"
        self.blocks.append((_WRAP.format(table_html) + (f'<p class="links">Files: {link_html}</p>' if links else ""),
                            md))

    def figure(self, png: str, pdf: str, caption: str) -> None:
        """A figure written by the report (relative ``png``/``pdf`` paths) with a plain-text caption."""
        if not (safe_href(png) and safe_href(pdf)):
            raise ValueError(f"figure paths must be relative paths inside the report folder, got {png!r}, {pdf!r}")
        cap = md_escape(caption)
        self.blocks.append((f'<figure><img src="{html.escape(png)}" alt="{html_escape(caption)}">'
                            f'<figcaption>{html_escape(caption)} <a href="{html.escape(pdf)}">PDF</a></figcaption>'
                            "</figure>",
                            f"![{cap}]({png})\n\n{cap} ([PDF]({pdf}))"))

    def html(self) -> str:
        body = "\n".join(h for h, _ in self.blocks)
        return (f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
                f"<title>{html_escape(self.title)}</title>\n<style>\n{PAGE_CSS}\n{TABLE_CSS}\n</style></head>\n"
                f"<body>\n<h1>{html_escape(self.title)}</h1>\n{body}\n</body></html>\n")

    def markdown(self) -> str:
        return f"# {md_escape(self.title)}\n\n" + "\n\n".join(m for _, m in self.blocks if m) + "\n"


def _one_line(text: str) -> str:
    return " ".join(str(text).splitlines())
