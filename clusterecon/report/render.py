"""The one table-rendering engine: a plain-text :class:`Layout` rendered to LaTeX, Markdown, HTML and CSV.

Regression tables (:mod:`.tables`) and descriptive/balance tables (:mod:`.descriptive`) only build a Layout plus
the DataFrame behind it; all of them inherit :class:`Table` and so render through the same code. Cells hold plain
text; each renderer escapes for its own format (LaTeX in :mod:`.latex`, Markdown :func:`md_escape`, HTML
:func:`html_escape`, CSV :func:`csv_cell`), and every one of these escapers shows control characters and bidi
overrides from user strings as visible escapes (:func:`clusterecon._controls.visible_controls`), so that no output
file carries a terminal escape sequence, a character pdflatex rejects or text reordered to disguise it.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .._controls import BREAKS, visible_controls
from .latex import Raw, render_latex


@dataclass(frozen=True)
class Cell:
    """One table cell.

    ``sup``: superscript marks after the text (significance stars); ``number``: numeric content (minus sign typeset
    as math); ``align``: decimal-align this number in a siunitx column (off for counts and model statistics, which
    are centred as text so they do not widen the coefficient format); ``span``: columns covered (header cells);
    ``italic``: emphasis.
    """

    text: str = ""
    sup: str = ""
    number: bool = False
    span: int = 1
    italic: bool = False
    align: bool = True


@dataclass(frozen=True)
class Section:
    """A block of body rows, optionally titled (``Panel A: Coefficients``); sections are separated by a rule."""

    rows: tuple[tuple[Cell, ...], ...]
    title: str | None = None


@dataclass(frozen=True)
class Layout:
    """Header rows, body sections and notes; the first column is the row-label stub."""

    header: tuple[tuple[Cell, ...], ...]
    sections: tuple[Section, ...]
    notes: tuple[str, ...] = ()

    @property
    def n_columns(self) -> int:
        rows = list(self.all_rows())
        return max(sum(c.span for c in r) for r in rows) if rows else 1

    def all_rows(self) -> Iterator[tuple[Cell, ...]]:
        yield from self.header
        for s in self.sections:
            yield from s.rows


def fmt_number(x: float, digits: int) -> str:
    """Fixed-point text with ``digits`` decimals; a value that rounds to zero loses its minus sign."""
    s = f"{x:.{digits}f}"
    return s[1:] if s.startswith("-") and float(s) == 0 else s


def fmt_value(v: object, digits: int) -> str:
    """Counts with thousands separators, floats with ``digits`` decimals (separators from 10,000), blanks for NaN."""
    if v is None:
        return ""
    if isinstance(v, (bool, np.bool_)):
        return "Yes" if v else "No"
    if isinstance(v, (int, np.integer)):
        return f"{int(v):,}"
    if isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            return ""
        return f"{v:,.{digits}f}" if abs(v) >= 1e4 else fmt_number(float(v), digits)
    return str(v)


def cells(texts: Iterable[object], *, number: bool = False, align: bool = True) -> tuple[Cell, ...]:
    return tuple(t if isinstance(t, Cell) else Cell("" if t is None else str(t), number=number, align=align)
                 for t in texts)


def merge_spans(texts: Sequence[str]) -> tuple[Cell, ...]:
    """Header cells with runs of equal adjacent non-empty texts merged into one spanning cell."""
    out: list[Cell] = []
    for t in texts:
        if out and t and out[-1].text == t:
            out[-1] = Cell(t, span=out[-1].span + 1)
        else:
            out.append(Cell(t))
    return tuple(out)


# ---------------------------------------------------------------------------------------------------- markdown
_BREAKS = str.maketrans(dict.fromkeys(BREAKS, " "))


def plain_text(text: object, keep: str = "") -> str:
    """``text`` on one line: line breaks and tabs made spaces (except those in ``keep``, e.g. ``"\\n\\t"`` for a
    preformatted block), every other control character and bidi override shown as its escape (``\\x1b``). The
    common first step of :func:`md_escape` and :func:`html_escape`."""
    breaks = {k: v for k, v in _BREAKS.items() if chr(k) not in keep} if keep else _BREAKS
    return visible_controls(str(text), keep=BREAKS).translate(breaks)


def md_escape(text: object) -> str:
    """Plain text for Markdown: every character with a Markdown (or GitHub math/HTML) meaning backslash-escaped
    and line breaks and tabs made spaces, so that no user string can open a link, an HTML tag, a heading or a table
    cell; other control characters and bidi overrides are shown as their escape (``\\x1b``), so that ``cat
    report.md`` runs no terminal escape sequence. :class:`~clusterecon.report.latex.Raw` strings pass through
    unchanged."""
    if isinstance(text, Raw):
        return str(text)
    return plain_text(text).translate(_MD)


def md_visible(text: object) -> str:
    """Text already in Markdown (clusterecon's markup around :func:`md_escape`-d user parts) with any control
    character left in it shown as an escape that stays literal in Markdown (``\\\\x1b``); line breaks and tabs
    are left to the caller."""
    return visible_controls(str(text), keep=BREAKS, backslash="\\\\")


#: a cell a spreadsheet would run as a formula: = + - @ first (or a tab/CR that some programs skip before them)
_FORMULA_START = re.compile(r"^[\t\r\n ]*[=+\-@\t\r]")
#: ...unless it is a plain signed number, possibly with significance marks (``-0.295***``, ``+1.5e3``, ``-12%``)
_SIGNED_NUMBER = re.compile(r"[+-](?:\d[\d,]*\.?\d*|\.\d+)(?:[eE][+-]?\d+)?(?:\*{1,3}|[%†‡§])*")


def csv_cell(value: object) -> object:
    """``value`` safe to open in a spreadsheet: text that starts like a formula (``=``, ``+``, ``-``, ``@``; a
    labels such as ``=HYPERLINK(...)`` or ``-2+3+cmd|...``) gets a leading apostrophe, the OWASP advice against CSV
    injection, so Excel/LibreOffice show it as text instead of running it. Numbers, and text that is a plain signed
    number (``-0.295***``), are unchanged. Control characters other than tab and line breaks (which a quoted CSV
    cell holds as they are), and bidi overrides, are shown as their escape (``\\x1b``): a CSV file is also read
    with ``cat``."""
    if not isinstance(value, str):
        return value
    # a carriage return becomes a line break: csv quotes a cell with "\n" but not one with a lone "\r", which
    # readers then take for the end of the row
    value = visible_controls(value, keep="\t\n\r").replace("\r\n", "\n").replace("\r", "\n")
    if not _FORMULA_START.match(value) or _SIGNED_NUMBER.fullmatch(value.strip()):
        return value
    return "'" + value


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with every text cell, column label and index label passed through :func:`csv_cell` (a copy; ``df``
    is left as it is)."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or pd.api.types.is_string_dtype(out[col].dtype) or isinstance(
                out[col].dtype, pd.CategoricalDtype):
            out[col] = out[col].astype(object).map(csv_cell)

    def labels(index: pd.Index) -> pd.Index:
        if isinstance(index, pd.MultiIndex):
            return pd.MultiIndex.from_tuples([tuple(csv_cell(v) for v in t) for t in index], names=[
                csv_cell(n) for n in index.names])
        return pd.Index([csv_cell(v) for v in index], name=csv_cell(index.name), dtype=object) \
            if index.dtype == object or pd.api.types.is_string_dtype(index.dtype) else index

    out.columns = labels(out.columns)
    out.index = labels(out.index)
    return out


_MD = str.maketrans({ch: "\\" + ch for ch in "\\|*_`[]<>#$~^!"})


def _md_cell(cell: Cell) -> str:
    body = md_escape(cell.text)
    if cell.italic and body:
        body = f"*{body}*"
    return body + md_escape(cell.sup)


def _expand(row: tuple[Cell, ...]) -> list[Cell]:
    out: list[Cell] = []
    for c in row:
        out.append(c)
        out.extend(Cell() for _ in range(c.span - 1))
    return out


def render_markdown(layout: Layout) -> str:
    """GitHub-flavoured pipe table; extra header rows become the first body rows; notes follow the table."""
    n = layout.n_columns
    header = [_expand(r) for r in layout.header] or [[Cell()] * n]
    lines = ["| " + " | ".join(_md_cell(c) for c in header[0]) + " |",
             "|" + "|".join([":---"] + ["---:"] * (n - 1)) + "|"]
    body: list[list[Cell]] = list(header[1:])
    for s in layout.sections:
        if s.title:
            body.append([Cell(s.title, italic=True)] + [Cell()] * (n - 1))
        body.extend(_expand(r) for r in s.rows)
    for r in body:
        r = r + [Cell()] * (n - len(r))
        lines.append("| " + " | ".join(_md_cell(c) for c in r) + " |")
    for note in layout.notes:  # one paragraph per note: consecutive lines would run together
        lines += ["", md_escape(note)]
    return "\n".join(lines) + "\n"


# ---------------------------------------------------------------------------------------------------- csv
def render_csv(layout: Layout) -> str:
    """The table as a spreadsheet shows it: the rows of :func:`render_markdown` (same labels, stars after the
    number, a panel title in a row of its own, a spanning header in its first column), then an empty row and one
    row per note with its text in the first column. Every cell goes through :func:`csv_cell` (no formulas)."""
    import csv
    import io

    n = layout.n_columns
    rows: list[list[Cell]] = [_expand(r) for r in layout.header]
    for s in layout.sections:
        if s.title:
            rows.append([Cell(s.title)])
        rows.extend(_expand(r) for r in s.rows)
    out = io.StringIO()
    w = csv.writer(out, lineterminator="\n")
    for r in rows:
        w.writerow([csv_cell(str(c.text) + c.sup) for c in r] + [""] * (n - len(r)))
    if layout.notes:
        w.writerow([""] * n)
        for note in layout.notes:
            w.writerow([csv_cell(note)] + [""] * (n - 1))
    return out.getvalue()


# ---------------------------------------------------------------------------------------------------- html
def html_escape(text: object, *, keep: str = "") -> str:
    """Plain text for HTML (text or a quoted attribute): ``& < > " '`` escaped, line breaks and tabs made spaces
    (except those in ``keep``: ``"\\n\\t"`` in a ``<pre>`` block), other control characters and bidi overrides
    shown as their escape (``\\x1b``)."""
    return html.escape(plain_text(text, keep))


def _html_cell(cell: Cell, tag: str) -> str:
    body = str(cell.text) if isinstance(cell.text, Raw) else html_escape(cell.text)
    if cell.italic and body:
        body = f"<em>{body}</em>"
    if cell.sup:
        body += f"<sup>{html_escape(cell.sup)}</sup>"
    span = f' colspan="{cell.span}"' if cell.span > 1 else ""
    return f"<{tag}{span}>{body}</{tag}>"


#: booktabs-like rules for HTML tables (used by standalone files; a report can include it once in its <head>).
TABLE_CSS = """
table.clusterecon-table { border-collapse: collapse; border-top: 2px solid #000; border-bottom: 2px solid #000;
  font-family: Georgia, 'Times New Roman', serif; font-size: 0.95em; margin: 1em 0; }
table.clusterecon-table caption { caption-side: top; padding-bottom: 0.4em; font-weight: bold; }
table.clusterecon-table th, table.clusterecon-table td { padding: 0.15em 0.8em; text-align: center; }
table.clusterecon-table tbody th { text-align: left; font-weight: normal; }
table.clusterecon-table thead tr:last-child th { border-bottom: 1px solid #000; }
table.clusterecon-table tbody + tbody tr:first-child > * { border-top: 1px solid #000; }
table.clusterecon-table tfoot td { text-align: left; font-size: 0.85em; border-top: 1px solid #000; }
""".strip()


def render_html(layout: Layout, *, caption: str | None = None, table_class: str = "clusterecon-table",
                standalone: bool = False) -> str:
    """An HTML ``<table>`` (``standalone=True``: a complete page with :data:`TABLE_CSS`)."""
    if standalone:
        title = html_escape(caption or "Table")
        return (f"<!DOCTYPE html>\n<html><head><meta charset=\"utf-8\"><title>{title}</title>\n<style>\n{TABLE_CSS}\n"
                f"</style></head><body>\n{render_html(layout, caption=caption, table_class=table_class)}"
                "</body></html>\n")
    n = layout.n_columns
    out = [f'<table class="{html.escape(table_class)}">']
    if caption:
        out.append(f"<caption>{html_escape(caption)}</caption>")
    out.append("<thead>")
    for r in layout.header:
        out.append("<tr>" + "".join(_html_cell(c, "th") for c in r) + "</tr>")
    out.append("</thead>")
    for s in layout.sections:
        out.append("<tbody>")
        if s.title:
            out.append(f'<tr><th colspan="{n}" style="text-align:left"><em>{html_escape(s.title)}</em></th></tr>')
        for r in s.rows:
            out.append("<tr>" + _html_cell(r[0], "th") + "".join(_html_cell(c, "td") for c in r[1:]) + "</tr>")
        out.append("</tbody>")
    if layout.notes:
        out.append("<tfoot>")
        for note in layout.notes:
            out.append(f'<tr><td colspan="{n}">{html_escape(note)}</td></tr>')
        out.append("</tfoot>")
    out.append("</table>")
    return "\n".join(out) + "\n"


# ---------------------------------------------------------------------------------------------------- base class
_FORMATS = ("tex", "md", "html", "csv")


class Table:
    """Mixin for every clusterecon table: subclasses provide ``layout`` (a :class:`Layout`) and ``frame``."""

    layout: Layout
    frame: pd.DataFrame
    caption: str | None = None

    def to_latex(self, *, float: bool = True, siunitx: bool = False, caption: str | None = None,
                 label: str | None = None, placement: str = "htbp", font_size: str | None = None,
                 notes_width: str | None = None, stub_width: str | None = None, fit: str | None = None) -> str:
        """booktabs LaTeX: a ``table`` float (``float=True``) or a bare table to ``\\input``.

        Notes sit below the tabular at its width (``threeparttable``). Preamble:
        ``\\usepackage{booktabs,array,threeparttable}`` (and ``siunitx`` with ``siunitx=True``). ``font_size``:
        e.g. ``"small"``; ``stub_width``: wrap row labels at this width (``"4cm"``); ``fit``: ``"resize"`` (shrink
        to the line width if wider, needs graphicx; :meth:`fitting_latex_options` returns it for a table nothing
        else fits) or ``"tabularx"`` (full line width, needs tabularx), only on request; ``notes_width``: notes as
        rows of that width (column padding included) inside the tabular instead
        (see :func:`~clusterecon.report.latex.render_latex`).
        """
        return render_latex(self.layout, float=float, siunitx=siunitx, caption=caption or self.caption,
                            label=label, placement=placement, font_size=font_size, notes_width=notes_width,
                            stub_width=stub_width, fit=fit)

    def fitting_latex_options(self, line_width_pt: float = 345.0) -> dict[str, str]:
        """Options for :meth:`to_latex` that make this table fit a line of ``line_width_pt`` (345pt: a 10pt
        ``article``): wrapped row labels and a smaller type size, ``fit="resize"`` only as a last resort (the
        table then needs graphicx: ``\\usepackage{booktabs,array,threeparttable,graphicx}``)."""
        from .latex import fitting_options

        return fitting_options(self.layout, line_width_pt=line_width_pt)

    def to_markdown(self) -> str:
        return render_markdown(self.layout)

    def to_html(self, *, caption: str | None = None, standalone: bool = False) -> str:
        """An HTML table fragment (style it with :data:`TABLE_CSS`), or a complete page with ``standalone=True``."""
        return render_html(self.layout, caption=caption or self.caption, standalone=standalone)

    def to_csv(self, path: str | Path | None = None) -> str | None:
        """The table as CSV, as the other formats show it (:func:`render_csv`: the same labels and stars, the notes
        as rows after an empty row); returned as text when ``path`` is None. Text that a spreadsheet would run as
        a formula is quoted (:func:`csv_cell`). The numbers behind the table are :attr:`frame` (and ``data``)."""
        text = render_csv(self.layout)
        if path is None:
            return text
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
        return None

    def save(self, path_stem: str | Path, formats: Sequence[str] = _FORMATS, **latex_options: object,
             ) -> dict[str, Path]:
        """Write ``path_stem.tex/.md/.html/.csv`` (those in ``formats``); returns ``{format: path}``.

        The ``.html`` file is a complete page (opens in a browser); use :meth:`to_html` for a fragment.

        ``latex_options`` go to :meth:`to_latex` (e.g. ``float=False`` for an ``\\input``-able tabular).
        """
        stem = Path(path_stem)
        stem.parent.mkdir(parents=True, exist_ok=True)
        unknown = set(formats) - set(_FORMATS)
        if unknown:
            raise ValueError(f"unknown table format(s) {sorted(unknown)}; choose from {_FORMATS}")
        written: dict[str, Path] = {}
        for fmt in formats:
            path = stem.with_name(stem.name + "." + fmt)
            if fmt == "tex":
                path.write_text(self.to_latex(**latex_options), encoding="utf-8")  # type: ignore[arg-type]
            elif fmt == "md":
                path.write_text(self.to_markdown(), encoding="utf-8")
            elif fmt == "html":
                path.write_text(self.to_html(standalone=True), encoding="utf-8")
            else:
                self.to_csv(path)
            written[fmt] = path
        return written

    def __str__(self) -> str:
        return self.to_markdown()

    def _repr_html_(self) -> str:
        return self.to_html()

    def _repr_markdown_(self) -> str:
        return self.to_markdown()
