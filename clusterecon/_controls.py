"""Control and direction-override characters in user strings, shown as visible escapes (``\\x1b``, ``\\u202e``).

A mapping's ``name``, a ``[history] source``, a variable label or a firm id is written into every output clusterecon
makes: the terminal, report.md/.html, LaTeX tables and CSV files. Some code points in such a string do harm there
whatever the format's own escaping does:

* C0 controls (U+0000-U+001F), DEL and the C1 controls (U+007F-U+009F): ``ESC [2J`` or ``U+009B`` (CSI) run as
  terminal commands when a file is ``cat``-ed or printed, BEL rings, NUL truncates in C tools, and pdflatex stops
  (``Unicode character ^^[ (U+001B) not set up for use with LaTeX``);
* the bidirectional embeddings, overrides and isolates (U+202A-U+202E, U+2066-U+2069): they reorder the text
  around them, so that what a reader sees is not what is written ("Trojan Source", CVE-2021-42574);
* lone surrogates (U+D800-U+DFFF): not encodable as UTF-8, a ``write_text`` would fail on them.

:func:`visible_controls` replaces each with its escape as text rather than dropping it, so a reader sees that
something was there and what. It is the one definition every writer uses: the CLI's terminal streams and the
escapers of the report formats (:func:`clusterecon.report.latex.escape`, :func:`clusterecon.report.render.md_escape`,
:func:`clusterecon.report.render.html_escape`, :func:`clusterecon.report.render.csv_cell`). Each of those first
decides what a line break or a tab becomes in its format (a space in LaTeX, Markdown and HTML text, a line in a
``<pre>`` block or a CSV cell) and passes those characters in ``keep``.
"""

from __future__ import annotations

import re

#: every code point :func:`visible_controls` replaces
CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
#: the tab and the line breaks (those ``str.splitlines`` breaks at): what the report formats turn into a space, or
#: keep in a preformatted block, before the other controls are made visible
BREAKS = "\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"


def _visible(ch: str, backslash: str) -> str:
    c = ord(ch)
    return f"{backslash}x{c:02x}" if c < 0x100 else f"{backslash}u{c:04x}"


def visible_controls(text: str, keep: str = "", backslash: str = "\\") -> str:
    """``text`` with every control character (C0, DEL, C1), bidi embedding/override/isolate and lone surrogate
    replaced by its escape as text (``ESC`` -> ``\\x1b``, ``U+202E`` -> ``\\u202e``), except the characters in
    ``keep`` (those the caller handles itself, e.g. ``"\\n\\t"``). ``backslash`` is what the escape starts with:
    ``"\\\\"`` in text that is Markdown already, where a single backslash would escape the next character."""
    text = str(text)
    if CONTROLS.search(text) is None:  # the common case: nothing to do
        return text
    return CONTROLS.sub(lambda m: m[0] if m[0] in keep else _visible(m[0], backslash), text)
