"""LaTeX escaping and the booktabs/siunitx renderer shared by every clusterecon table.

Every table (regression, descriptive, balance) is first laid out as a :class:`~clusterecon.report.render.Layout`
(plain-text cells) and only then rendered; this module is the LaTeX half of that single rendering engine.
Plain text is escaped here and nowhere else, so a label such as ``profit_%_of sales & #2`` can never break a
document (the class of bugs in linearmodels #560 and fixest #201 listed in ``shared/research/anchors.md`` §2.3).

Written here rather than taken from pandas ``Styler.to_latex`` because that renderer has no notion of coefficient
stars, spanning model headers with ``\\cmidrule``, panel titles, or siunitx-safe text cells.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from .render import Cell, Layout


_PLAIN = re.compile(r"-?\d+(?:\.\d+)?")


class Raw(str):
    """Text that is already LaTeX (or already formatted markup) and must not be escaped, e.g. ``Raw(r"$\\beta$")``."""


_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    # \textless etc. need T1 fonts; math mode works with the default OT1 encoding of a bare document.
    "<": r"$<$",
    ">": r"$>$",
    "|": r"$|$",
    # Unicode that pdflatex's default utf8 input either lacks or sets badly.
    "²": r"\textsuperscript{2}",
    "³": r"\textsuperscript{3}",
    "×": r"$\times$",
    "−": r"$-$",
    "–": "--",
    "—": "---",
    "≤": r"$\leq$",
    "≥": r"$\geq$",
    "±": r"$\pm$",
    "·": r"$\cdot$",
    "α": r"$\alpha$",
    "β": r"$\beta$",
    "γ": r"$\gamma$",
    "δ": r"$\delta$",
    "ε": r"$\varepsilon$",
    "θ": r"$\theta$",
    "λ": r"$\lambda$",
    "μ": r"$\mu$",
    "ρ": r"$\rho$",
    "σ": r"$\sigma$",
    "χ": r"$\chi$",
    "Δ": r"$\Delta$",
    "\u00a0": "~",
}
# Line breaks (a blank line is \par, which ends a tabular row with an error) and other control characters.
_SPECIAL.update({ch: " " for ch in "\n\r\t\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"})
_TABLE = str.maketrans(_SPECIAL)


def escape(text: object) -> str:
    """Escape plain text for LaTeX text mode (``\\ & % $ # _ { } ~ ^ < > |`` and common Unicode symbols).

    Output compiles in a bare ``article`` with pdflatex's default encodings (no fontenc/textcomp needed).

    :class:`Raw` strings pass through unchanged.
    """
    if isinstance(text, Raw):
        return str(text)
    return str(text).translate(_TABLE)


def label_key(label: str) -> str:
    """A ``\\label``/``\\ref`` key: letters, digits, ``:`` and ``-`` only (other characters become ``-``), so that
    a file or model name cannot close the brace and inject commands such as ``\\input``."""
    return re.sub(r"[^A-Za-z0-9:-]+", "-", str(label)).strip("-") or "table"


def _number(text: str) -> str:
    # A leading hyphen is a minus sign in a number; text mode would set a hyphen.
    body = escape(text)
    if body.startswith("-"):
        body = "$-$" + body[1:]
    elif body.startswith(("(-", "[-")):
        body = body[0] + "$-$" + body[2:]
    return body


def _cell(cell: Cell, siunitx: bool) -> str:
    if siunitx and cell.number and cell.align and cell.span == 1:
        body = _siunitx_number(cell.text)
        return body + ("{" + _stars(cell.sup) + "}" if cell.sup else "")
    body = _number(cell.text) if cell.number else escape(cell.text)
    if cell.italic and body:
        body = r"\textit{" + body + "}"
    if cell.sup:
        body += _stars(cell.sup)
    if siunitx and body and cell.span == 1:
        body = "{" + body + "}"  # text in an S column must be braced or siunitx tries to parse it
    return body


def _stars(sup: str) -> str:
    return r"\textsuperscript{" + escape(sup) + "}"


def _siunitx_number(text: str) -> str:
    t = text.strip()
    if not t:
        return ""
    if t[0] in "([" and t[-1] in ")]" and _is_plain_number(t[1:-1]):
        return "{" + t[0] + "}" + t[1:-1] + "{" + t[-1] + "}"
    if _is_plain_number(t):
        return t
    return "{" + _number(t) + "}"


def _is_plain_number(t: str) -> bool:
    """Digits with an optional minus and decimal part: what siunitx can parse (not nan, inf, 1e-5 or 1,234)."""
    return _PLAIN.fullmatch(t) is not None


def _table_format(layout: Layout, j: int) -> str:
    """siunitx ``table-format`` for data column ``j``: widest integer part, sign, decimals, and room for the
    brackets before and the bracket or stars after a number (siunitx overprints text it has not reserved)."""
    int_digits, decimals, sign, stars, pre = 1, 0, False, 0, ""
    for row in layout.all_rows():
        cell = row[j + 1] if j + 1 < len(row) else None
        if cell is None or not cell.number or not cell.align or cell.span != 1:
            continue
        raw = cell.text.strip()
        t = raw.strip("()[]")
        if not _is_plain_number(t):
            continue
        if raw[:1] in "([":
            pre = raw[0]
        sign = sign or t.startswith("-")
        whole, _, frac = t.lstrip("-").partition(".")
        int_digits = max(int_digits, len(whole))
        decimals = max(decimals, len(frac))
        stars = max(stars, len(cell.sup))
    opts = [f"table-format={'-' if sign else ''}{int_digits}.{decimals}"]
    if pre:
        opts.append("table-space-text-pre={" + pre + "}")
    if pre or stars:
        opts.append("table-space-text-post={" + ("]" if pre == "[" else ")" if pre else "")
                    + (_stars("*" * stars) if stars else "") + "}")
    return "S[" + ",".join(opts) + "]"


def render_latex(layout: Layout, *, float: bool = True, siunitx: bool = False, caption: str | None = None,
                 label: str | None = None, placement: str = "htbp", font_size: str | None = None,
                 notes_width: str | None = None) -> str:
    """Render a layout as a booktabs table.

    ``float=True`` wraps the tabular in a ``table`` environment with ``\\caption``/``\\label``; ``float=False``
    returns the bare ``tabular`` for ``\\input`` (notes stay inside the tabular so they travel with it).
    ``siunitx=True`` aligns numeric columns on the decimal point with ``S`` columns (needs ``\\usepackage{siunitx}``).
    Always needs ``\\usepackage{booktabs}``. Notes are one ``l`` cell per note (a long note widens the table);
    ``notes_width`` (e.g. ``"10cm"`` or ``r"\\linewidth"``) wraps them in a ``p{...}`` cell of that width instead.
    """
    _check_options(placement, font_size, notes_width)
    ncol = layout.n_columns
    if siunitx:
        spec = "l" + "".join(_table_format(layout, j) for j in range(ncol - 1))
    else:
        spec = "l" + "c" * (ncol - 1)
    out: list[str] = []
    if float:
        out.append(rf"\begin{{table}}[{placement}]")
        out.append(r"\centering")
        if font_size:
            out.append("\\" + font_size)
        if caption:
            out.append(rf"\caption{{{escape(caption)}}}")
        if label:
            out.append(rf"\label{{{label_key(label)}}}")
    out.append(rf"\begin{{tabular}}{{{spec}}}")
    out.append(r"\toprule")
    for row in layout.header:
        out.append(_latex_row(row, siunitx, header=True))
        rules, col = [], 1
        for cell in row:
            if cell.span > 1 and cell.text:
                rules.append(rf"\cmidrule(lr){{{col}-{col + cell.span - 1}}}")
            col += cell.span
        if rules:
            out.append(" ".join(rules))
    for section in layout.sections:
        out.append(r"\midrule")
        if section.title:
            out.append(rf"\multicolumn{{{ncol}}}{{l}}{{\textit{{{escape(section.title)}}}}} \\")
        for row in section.rows:
            out.append(_latex_row(row, siunitx))
    out.append(r"\bottomrule")
    note_col = f"p{{{notes_width}}}" if notes_width else "l"
    for note in layout.notes:
        out.append(rf"\multicolumn{{{ncol}}}{{{note_col}}}{{\footnotesize {escape(note)}}} \\")
    out.append(r"\end{tabular}")
    if float:
        out.append(r"\end{table}")
    return "\n".join(out) + "\n"


_SIZES = ("tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large", "LARGE", "huge", "Huge")
_WIDTH = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:cm|mm|in|pt|bp|em|ex)|(?:\d*\.?\d+)?\\(?:line|text|column)width")


def _check_options(placement: str, font_size: str | None, notes_width: str | None) -> None:
    """The options written into the LaTeX verbatim must be what they claim (no injected commands)."""
    if not re.fullmatch(r"[htbpH!]+", placement or ""):
        raise ValueError(f"placement must be letters of 'htbpH!', got {placement!r}")
    if font_size is not None and font_size not in _SIZES:
        raise ValueError(f"font_size must be one of {', '.join(_SIZES)}, got {font_size!r}")
    if notes_width is not None and not _WIDTH.fullmatch(notes_width):
        raise ValueError(rf"notes_width must be a length such as '10cm' or r'0.9\linewidth', got {notes_width!r}")


def _latex_row(row: tuple[Cell, ...], siunitx: bool, header: bool = False) -> str:
    parts = []
    for i, cell in enumerate(row):
        if cell.span > 1:
            parts.append(rf"\multicolumn{{{cell.span}}}{{c}}{{{_cell(cell, False)}}}")
        elif header and i > 0 and siunitx:
            parts.append("{" + escape(cell.text) + "}")
        else:
            parts.append(_cell(cell, siunitx and i > 0))
    if parts and parts[0].startswith(("[", "*")):
        # The previous row's \\ would read a leading [ as its optional spacing argument (or * as its star form).
        parts[0] = "{}" + parts[0]
    return " & ".join(parts) + r" \\"


def document(body: str, *, packages: tuple[str, ...] = ("booktabs",)) -> str:
    """A minimal compilable document around ``body`` (used by tests and by ``save(..., formats=("pdf",))``)."""
    pre = "\n".join(rf"\usepackage{{{p}}}" for p in packages)
    return f"\\documentclass{{article}}\n{pre}\n\\begin{{document}}\n{body}\n\\end{{document}}\n"
