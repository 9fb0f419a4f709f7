"""LaTeX escaping and the booktabs/siunitx renderer shared by every clusterecon table.

Every table (regression, descriptive, balance) is first laid out as a :class:`~clusterecon.report.render.Layout`
(plain-text cells) and only then rendered; this module is the LaTeX half of that single rendering engine.
Plain text is escaped here and nowhere else, so a label such as ``profit_%_of sales & #2`` can never break a
document (the class of bugs in linearmodels issue #560, https://github.com/bashtage/linearmodels/issues/560, and
fixest issues #201/#185/#303: unescaped underscores and ``#``, broken ``\\&``).

Written here rather than taken from pandas ``Styler.to_latex`` because that renderer has no notion of coefficient
stars, spanning model headers with ``\\cmidrule``, panel titles, or siunitx-safe text cells.
"""

from __future__ import annotations

import re
import unicodedata
from typing import TYPE_CHECKING

from .._controls import BREAKS, visible_controls

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
    "\u00a0": "~",
    "–": "--",
    "—": "---",
    "‚": ",",
    "„": ",,",
    "‛": "`",
    "‟": "``",
    "«": r"$\ll$",  # guillemets need T1 fonts
    "»": r"$\gg$",
    "‹": r"$\langle$",
    "›": r"$\rangle$",
    "′": "$'$",
    "″": "$''$",
    "‴": "$'''$",
    # spaces: widths LaTeX has; zero-width characters set nothing
    **dict.fromkeys("\u2000\u2001\u2002\u2003\u2004\u2005\u2008\u205f\u3000", " "),
    **dict.fromkeys("\u2006\u2009\u200a\u202f", r"\,"),
    "\u2007": "~",
    **dict.fromkeys("\u200b\u200d\u2060\ufeff", ""),
    # fractions without a Latin-1 character
    **{ch: rf"$\frac{{{a}}}{{{b}}}$" for ch, (a, b) in zip("⅓⅔⅕⅖⅗⅘⅙⅚⅛⅜⅝⅞", (
        (1, 3), (2, 3), (1, 5), (2, 5), (3, 5), (4, 5), (1, 6), (5, 6), (1, 8), (3, 8), (5, 8), (7, 8)))},
    # superscript and subscript digits and signs (\textsubscript is in the kernel since 2015)
    **{ch: rf"\textsuperscript{{{t}}}" for ch, t in zip("⁰¹²³⁴⁵⁶⁷⁸⁹⁺⁼⁽⁾ⁿⁱ", "0123456789+=()ni")},
    "⁻": r"\textsuperscript{$-$}",
    **{ch: rf"\textsubscript{{{t}}}" for ch, t in zip("₀₁₂₃₄₅₆₇₈₉₊₌₍₎ₐₑₒₓₕₖₗₘₙₚₛₜᵢⱼ",
                                                        "0123456789+=()aeoxhklmnpstij")},
    "₋": r"\textsubscript{$-$}",
    # symbols set in math mode, where the default fonts have them
    **{ch: f"${cmd}$" for ch, cmd in {
        # Greek (lower case in math italic, upper case upright as in plain TeX); variants
        "α": r"\alpha", "β": r"\beta", "γ": r"\gamma", "δ": r"\delta", "ε": r"\varepsilon", "ζ": r"\zeta",
        "η": r"\eta", "θ": r"\theta", "ι": r"\iota", "κ": r"\kappa", "λ": r"\lambda", "μ": r"\mu", "ν": r"\nu",
        "ξ": r"\xi", "ο": "o", "π": r"\pi", "ρ": r"\rho", "ς": r"\varsigma", "σ": r"\sigma", "τ": r"\tau",
        "υ": r"\upsilon", "φ": r"\varphi", "χ": r"\chi", "ψ": r"\psi", "ω": r"\omega",
        "Α": r"\mathrm{A}", "Β": r"\mathrm{B}", "Γ": r"\Gamma", "Δ": r"\Delta", "Ε": r"\mathrm{E}",
        "Ζ": r"\mathrm{Z}", "Η": r"\mathrm{H}", "Θ": r"\Theta", "Ι": r"\mathrm{I}", "Κ": r"\mathrm{K}",
        "Λ": r"\Lambda", "Μ": r"\mathrm{M}", "Ν": r"\mathrm{N}", "Ξ": r"\Xi", "Ο": r"\mathrm{O}", "Π": r"\Pi",
        "Ρ": r"\mathrm{P}", "Σ": r"\Sigma", "Τ": r"\mathrm{T}", "Υ": r"\Upsilon", "Φ": r"\Phi",
        "Χ": r"\mathrm{X}", "Ψ": r"\Psi", "Ω": r"\Omega",
        "ϐ": r"\beta", "ϑ": r"\vartheta", "ϒ": r"\Upsilon", "ϕ": r"\phi", "ϖ": r"\varpi", "ϰ": r"\kappa",
        "ϱ": r"\varrho", "ϴ": r"\Theta", "ϵ": r"\epsilon", "µ": r"\mu",
        # operators, relations, sets, logic
        "×": r"\times", "÷": r"\div", "±": r"\pm", "∓": r"\mp", "−": "-", "·": r"\cdot", "⋅": r"\cdot",
        "∙": r"\bullet", "∗": r"\ast", "∘": r"\circ", "⋆": r"\star", "∖": r"\setminus", "∕": "/", "∶": ":",
        "≤": r"\leq", "≥": r"\geq", "≦": r"\leq", "≧": r"\geq", "≠": r"\neq", "≈": r"\approx",
        "≡": r"\equiv", "≢": r"\not\equiv", "∼": r"\sim", "≃": r"\simeq", "≅": r"\cong", "≍": r"\asymp",
        "≐": r"\doteq", "∝": r"\propto", "≪": r"\ll", "≫": r"\gg", "≺": r"\prec", "≻": r"\succ",
        "≼": r"\preceq", "≽": r"\succeq",
        "∞": r"\infty", "∑": r"\sum", "∏": r"\prod", "∐": r"\coprod", "∫": r"\int", "∮": r"\oint",
        "√": r"\surd", "∂": r"\partial", "∇": r"\nabla", "∆": r"\Delta", "∈": r"\in", "∉": r"\notin",
        "∊": r"\in", "∋": r"\ni", "∌": r"\not\ni", "∀": r"\forall", "∃": r"\exists", "∄": r"\not\exists",
        "∅": r"\emptyset", "∩": r"\cap", "∪": r"\cup", "⊂": r"\subset", "⊃": r"\supset",
        "⊆": r"\subseteq", "⊇": r"\supseteq", "⊄": r"\not\subset", "⊅": r"\not\supset", "∧": r"\wedge",
        "∨": r"\vee", "¬": r"\neg", "⊕": r"\oplus", "⊖": r"\ominus", "⊗": r"\otimes", "⊙": r"\odot",
        "⊥": r"\perp", "⊤": r"\top", "⊢": r"\vdash", "⊣": r"\dashv", "⊨": r"\models", "∥": r"\parallel",
        "‖": r"\|", "∣": r"\mid", "∠": r"\angle", "°": r"^\circ", "⋯": r"\cdots", "⋮": r"\vdots",
        "⋱": r"\ddots", "⟨": r"\langle", "⟩": r"\rangle", "〈": r"\langle", "〉": r"\rangle",
        "⌊": r"\lfloor", "⌋": r"\rfloor", "⌈": r"\lceil", "⌉": r"\rceil", "‣": r"\triangleright",
        "ℓ": r"\ell", "ℏ": r"\hbar", "ℑ": r"\Im", "ℜ": r"\Re", "℘": r"\wp", "ℵ": r"\aleph",
        "ℝ": r"\mathbf{R}", "ℕ": r"\mathbf{N}", "ℤ": r"\mathbf{Z}", "ℚ": r"\mathbf{Q}", "ℂ": r"\mathbf{C}",
        "ℙ": r"\mathbf{P}", "\U0001d53c": r"\mathbf{E}",
        # arrows
        "→": r"\rightarrow", "←": r"\leftarrow", "↑": r"\uparrow", "↓": r"\downarrow",
        "↔": r"\leftrightarrow", "↕": r"\updownarrow", "⇒": r"\Rightarrow", "⇐": r"\Leftarrow",
        "⇔": r"\Leftrightarrow", "⇑": r"\Uparrow", "⇓": r"\Downarrow", "↦": r"\mapsto",
        "⟶": r"\longrightarrow", "⟵": r"\longleftarrow", "⟷": r"\longleftrightarrow",
        "⟹": r"\Longrightarrow", "⟸": r"\Longleftarrow", "⟺": r"\Longleftrightarrow",
        "↗": r"\nearrow", "↘": r"\searrow", "↙": r"\swarrow", "↖": r"\nwarrow",
        "↪": r"\hookrightarrow", "↩": r"\hookleftarrow",
    }.items()},
}
# Line breaks and tabs become spaces (a blank line is \par, which ends a tabular row with an error); every other
# control character (pdflatex stops at ESC, NUL, ...) was made a visible escape first (:func:`escape`).
_SPECIAL.update({ch: " " for ch in BREAKS})
_TABLE = str.maketrans(_SPECIAL)

#: Non-ASCII characters pdflatex sets as they are with its default setup (utf8 input, OT1 text fonts and the TS1
#: symbols of the kernel): accented Latin letters, typographic punctuation, currency and letter-like signs. Each
#: was compiled in a bare ``article`` (TeX Live 2022); ``tests/test_latex_unicode.py`` compiles them all again.
NATIVE = frozenset(
    "¡¢£¤¥¦§¨©ª\u00ad®¯´¶¸º¼½¾¿ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏÑÒÓÔÕÖØÙÚÛÜÝßàáâãäåæçèéêëìíîïñòóôõöøùúûüýÿ"
    "ĀāĂăĆćĈĉĊċČčĎďĒēĔĕĖėĚěĜĝĞğĠġĢģĤĥĨĩĪīĬĭİıĲĳĴĵĶķĹĺĻļĽľŁłŃńŅņŇňŌōŎŏŐőŒœŔŕŖŗŘřŚśŜŝŞşŠšŢţŤťŨũŪūŬŭŮůŰű"
    "ŴŵŶŷŸŹźŻżŽžƒǄǅǆǇǈǉǊǋǌǍǎǏǐǑǒǓǔǢǣǦǧǨǩǰǴǵȘșȚțȲȳȷˆˇ˘˙˜˝"
    "ḂḃḍḞḟḠḡḥḰḱḷṃṅṇṛṣṭẎẏẐẑẞỲỳ"
    "\u200c‐‑‒―‘’“”†‡•…‰‱※‽⁄⁎⁒₡₤₦₩₫€₱℃№℗℞℠™℧℮◦◯ﬀﬁﬂﬃﬄﬅﬆ"
)
_UNSET = re.compile("[^\x00-\x7f" + "".join(sorted(NATIVE)) + "]")


def unsettable(ch: str) -> str:
    """What LaTeX output shows for a character pdflatex cannot set with its default setup (Cyrillic, CJK, emoji,
    symbols that need amssymb, combining marks left after NFC): its code point as visible text, ``[U+1F600]``.
    The one rule for such characters: raw, they stop pdflatex (``Unicode character ... not set up for use with
    LaTeX``)."""
    return f"[U+{ord(ch):04X}]"


def escape(text: object) -> str:
    """Escape plain text for LaTeX text mode (``\\ & % $ # _ { } ~ ^ < > |`` and Unicode).

    Output compiles in a bare ``article`` with pdflatex's default encodings (no fontenc, inputenc or extra
    packages): the text is NFC-normalised; Greek letters, math symbols and arrows become math-mode commands,
    super-/subscript digits ``\\textsuperscript``/``\\textsubscript``; accented Latin letters and typographic
    symbols that pdflatex sets itself (:data:`NATIVE`) stay; every other character becomes its code point
    (:func:`unsettable`, ``[U+4E2D]``). Line breaks and tabs become spaces; other control characters and bidi
    overrides, which pdflatex rejects or which disguise text, are shown as their escape (``\\x1b``,
    :func:`clusterecon._controls.visible_controls`).

    :class:`Raw` strings pass through unchanged.
    """
    if isinstance(text, Raw):
        return str(text)
    out = unicodedata.normalize("NFC", visible_controls(str(text), keep=BREAKS)).translate(_TABLE)
    return out if out.isascii() else _UNSET.sub(lambda m: unsettable(m[0]), out)


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
    int_digits, decimals, sign, stars, pre = 1, 0, False, "", ""
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
        stars = max(stars, cell.sup, key=len)
    opts = [f"table-format={'-' if sign else ''}{int_digits}.{decimals}"]
    if pre:
        opts.append("table-space-text-pre={" + pre + "}")
    if pre or stars:
        opts.append("table-space-text-post={" + ("]" if pre == "[" else ")" if pre else "")
                    + (_stars(stars) if stars else "") + "}")
    return "S[" + ",".join(opts) + "]"


#: Packages every clusterecon table needs: booktabs (rules), array (a wrapped row-label column) and threeparttable
#: (notes set below the tabular at exactly its width). ``siunitx=True`` adds siunitx, ``fit="resize"`` graphicx and
#: ``fit="tabularx"`` tabularx.
PACKAGES = ("booktabs", "array", "threeparttable")
FIT_PACKAGES = {"resize": "graphicx", "tabularx": "tabularx"}

_STUB_WRAP = r">{\raggedright\arraybackslash}p"


def render_latex(layout: Layout, *, float: bool = True, siunitx: bool = False, caption: str | None = None,
                 label: str | None = None, placement: str = "htbp", font_size: str | None = None,
                 notes_width: str | None = None, stub_width: str | None = None, fit: str | None = None) -> str:
    """Render a layout as a booktabs table.

    ``float=True`` wraps the table in a ``table`` environment with ``\\caption``/``\\label``; ``float=False``
    returns the bare table for ``\\input`` (a ``threeparttable`` holding the tabular and its notes, so the notes
    travel with it). ``siunitx=True`` aligns numeric columns on the decimal point with ``S`` columns.

    Notes are set below the tabular in a ``threeparttable`` ``tablenotes`` block whose width is the tabular's
    own width, so a long note wraps instead of widening the table. ``notes_width`` (e.g. ``"10cm"``) instead puts
    each note in a row of that width inside the tabular (no threeparttable); the width includes the row's column
    padding, so ``notes_width=r"\\linewidth"`` is exactly as wide as the line. ``stub_width`` (e.g.
    ``"4cm"``) wraps long row labels in a ragged-right column of that width. ``font_size`` (``"small"``, ...) sets
    the table's type size. Nothing is scaled unless asked: ``fit="resize"`` shrinks the table to the line width
    when (and only when) it is wider, ``fit="tabularx"`` makes the table exactly ``\\linewidth`` wide with a
    wrapping row-label column.

    Preamble: ``\\usepackage{booktabs,array,threeparttable}`` (:data:`PACKAGES`), plus ``siunitx``, ``graphicx``
    (``fit="resize"``) or ``tabularx`` (``fit="tabularx"``) when used; :func:`document` adds them. A table that
    needs more than :data:`PACKAGES` starts with a comment naming them all
    (``% clusterecon table; needs \\usepackage{booktabs,array,threeparttable,graphicx}``).
    """
    _check_options(placement, font_size, notes_width)
    _check_width("stub_width", stub_width)
    if fit not in (None, "resize", "tabularx"):
        raise ValueError(f"fit must be None, 'resize' or 'tabularx', got {fit!r}")
    ncol = layout.n_columns
    if fit == "tabularx":  # the row-label column takes the width left over (stub_width does not apply)
        stub = _STUB_WRAP[:-1] + "X"
    else:
        stub = f"{_STUB_WRAP}{{{stub_width}}}" if stub_width else "l"
    if siunitx:
        spec = stub + "".join(_table_format(layout, j) for j in range(ncol - 1))
    else:
        spec = stub + "c" * (ncol - 1)
    body: list[str] = []
    if fit == "tabularx":
        body.append(rf"\begin{{tabularx}}{{\linewidth}}{{{spec}}}")
    else:
        body.append(rf"\begin{{tabular}}{{{spec}}}")
    body.append(r"\toprule")
    for row in layout.header:
        body.append(_latex_row(row, siunitx, header=True))
        rules, col = [], 1
        for cell in row:
            if cell.span > 1 and cell.text:
                rules.append(rf"\cmidrule(lr){{{col}-{col + cell.span - 1}}}")
            col += cell.span
        if rules:
            body.append(" ".join(rules))
    for section in layout.sections:
        body.append(r"\midrule")
        if section.title:
            body.append(rf"\multicolumn{{{ncol}}}{{l}}{{\textit{{{escape(section.title)}}}}} \\")
        for row in section.rows:
            body.append(_latex_row(row, siunitx))
    body.append(r"\bottomrule")
    if notes_width:  # the note row, column padding included, is notes_width wide: "\linewidth" fits the line
        width = rf"\dimexpr {notes_width}-2\tabcolsep\relax"
        for note in layout.notes:
            body.append(rf"\multicolumn{{{ncol}}}{{p{{{width}}}}}{{\footnotesize {escape(note)}}} \\")
    body.append(r"\end{tabularx}" if fit == "tabularx" else r"\end{tabular}")
    notes = [] if notes_width else list(layout.notes)
    tpt = bool(notes) or (float and bool(caption))
    out: list[str] = []
    needs = latex_packages(siunitx=siunitx, fit=fit)
    if needs != PACKAGES:  # a file that \input fails in a preamble without them says so in its first line
        out.append(f"% clusterecon table; needs \\usepackage{{{','.join(needs)}}}")
    if float:
        out += [rf"\begin{{table}}[{placement}]", r"\centering"]
    if font_size:
        out.append("{\\" + font_size if not float else "\\" + font_size)
    head = []
    if float and caption:
        head.append(rf"\caption{{{escape(caption)}}}")
    if float and label:
        head.append(rf"\label{{{label_key(label)}}}")
    if fit == "resize":  # the caption is not scaled: it comes before the box
        out += head
        if not float:
            out.append(r"\noindent")  # exactly \linewidth wide: no paragraph indent before it
        out.append(r"\resizebox{\ifdim\width>\linewidth\linewidth\else\width\fi}{!}{%")
    if tpt:
        out.append(r"\begin{threeparttable}")
    if fit != "resize":  # inside the threeparttable the caption is set to the table's width
        out += head
    out += body
    if notes:
        out += [r"\begin{tablenotes}[flushleft]", r"\footnotesize\raggedright"]
        out += [rf"\item[] {escape(note)}" for note in notes]
        out.append(r"\end{tablenotes}")
    if tpt:
        out.append(r"\end{threeparttable}")
    if fit == "resize":
        out.append("}")
    if font_size and not float:
        out.append("}")
    if float:
        out.append(r"\end{table}")
    return "\n".join(out) + "\n"


def latex_packages(*, siunitx: bool = False, fit: str | None = None) -> tuple[str, ...]:
    """The ``\\usepackage`` names a table rendered with these options needs."""
    return PACKAGES + (("siunitx",) if siunitx else ()) + ((FIT_PACKAGES[fit],) if fit else ())


#: Approximate glyph widths of Computer Modern at 10pt (pt): what :func:`estimated_width` sums.
_GLYPH = {"narrow": 2.8, "digit": 5.0, "lower": 4.9, "upper": 7.2, "space": 3.3}
#: Width of each type size's glyphs relative to 10pt (measured with pdflatex: cmr7 and cmr8 are wider designs).
_SIZE_PT = {"tiny": 6.6, "scriptsize": 8.0, "footnotesize": 8.7, "small": 9.3, "normalsize": 10, "large": 12}


def _text_width(text: str, pt: float) -> float:
    w = 0.0
    for ch in text:
        if ch in "il.,;:'!|()[]" or ch == " ":
            w += _GLYPH["narrow"]
        elif ch.isdigit() or ch in "-+*":
            w += _GLYPH["digit"]
        elif ch == " ":
            w += _GLYPH["space"]
        elif ch.isupper() or ch in "mwMW%&×—":
            w += _GLYPH["upper"]
        else:
            w += _GLYPH["lower"]
    return w * pt / 10


def estimated_width(layout: Layout, *, font_size: str | None = None, stub_width_pt: float | None = None) -> float:
    """Rough natural width (pt) of the tabular of ``layout`` (notes excluded: they wrap) in a 10pt document.

    Used to choose a type size and a wrapped row-label column so that generated tables fit the page; the
    pdflatex compile test (no ``Overfull \\hbox``) is what guarantees it.
    """
    pt = _SIZE_PT.get(font_size or "normalsize", 10)
    pad = 12.0  # 2 \tabcolsep
    n = layout.n_columns
    widths = [0.0] * n
    for row in layout.all_rows():
        col = 0
        for cell in row:
            if cell.span == 1 and col < n:
                widths[col] = max(widths[col], _text_width(cell.text, pt) + 0.7 * _text_width(cell.sup, pt))
            col += cell.span
    if stub_width_pt is not None:
        widths[0] = stub_width_pt
    for row in layout.all_rows():  # a spanning header wider than its columns widens them
        col = 0
        for cell in row:
            if cell.span > 1 and col + cell.span <= n:
                need = _text_width(cell.text, pt) - sum(widths[col:col + cell.span]) - pad * (cell.span - 1)
                if need > 0:
                    for j in range(col, col + cell.span):
                        widths[j] += need / cell.span
            col += cell.span
    for s in layout.sections:  # panel titles span the table
        if s.title:
            widths[0] = max(widths[0], _text_width(s.title, pt) - sum(widths[1:]))
    return sum(widths) + pad * n


def fitting_options(layout: Layout, *, line_width_pt: float = 345.0) -> dict[str, str]:
    """``font_size``/``stub_width`` that make ``layout`` fit ``line_width_pt`` (345pt: a 10pt ``article``): at each
    type size from normal down to ``scriptsize``, first as it is, then with row labels wrapped at about 16
    characters; ``fit="resize"`` only if nothing else fits. ``{}`` when the table fits as it is."""
    limit = 0.95 * line_width_pt
    longest = max((len(r[0].text) for r in layout.all_rows() if r and r[0].span == 1), default=0)
    opts: dict[str, str] = {}
    for size in (None, "small", "footnotesize", "scriptsize"):
        pt = _SIZE_PT.get(size or "normalsize", 10)
        opts = {"font_size": size} if size else {}
        if estimated_width(layout, font_size=size) <= limit:
            return opts
        if longest > 16:
            stub_pt = round(_text_width("x" * 16, pt))
            if estimated_width(layout, font_size=size, stub_width_pt=stub_pt) <= limit:
                return {**opts, "stub_width": f"{stub_pt}pt"}
    return {**opts, "fit": "resize"}


_SIZES = ("tiny", "scriptsize", "footnotesize", "small", "normalsize", "large", "Large", "LARGE", "huge", "Huge")
_WIDTH = re.compile(r"(?:\d+(?:\.\d+)?|\.\d+)(?:cm|mm|in|pt|bp|em|ex)|(?:\d*\.?\d+)?\\(?:line|text|column)width")


def _check_options(placement: str, font_size: str | None, notes_width: str | None) -> None:
    """The options written into the LaTeX verbatim must be what they claim (no injected commands)."""
    if not re.fullmatch(r"[htbpH!]+", placement or ""):
        raise ValueError(f"placement must be letters of 'htbpH!', got {placement!r}")
    if font_size is not None and font_size not in _SIZES:
        raise ValueError(f"font_size must be one of {', '.join(_SIZES)}, got {font_size!r}")
    _check_width("notes_width", notes_width)


def _check_width(name: str, value: str | None) -> None:
    if value is not None and not _WIDTH.fullmatch(value):
        raise ValueError(rf"{name} must be a length such as '10cm' or r'0.9\linewidth', got {value!r}")


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


def document(body: str, *, packages: tuple[str, ...] = (), preamble: str = "") -> str:
    """A minimal compilable ``article`` around ``body``: :data:`PACKAGES` plus ``packages`` (e.g. ``("siunitx",)``)
    and any ``preamble`` lines (e.g. a geometry)."""
    names = list(dict.fromkeys(PACKAGES + tuple(packages)))
    pre = "\n".join(rf"\usepackage{{{p}}}" for p in names) + ("\n" + preamble if preamble else "")
    return f"\\documentclass{{article}}\n{pre}\n\\begin{{document}}\n{body}\n\\end{{document}}\n"
