"""Unicode in LaTeX output: every character of a label either becomes a command pdflatex sets with its default
setup (Greek letters, math symbols, arrows, super-/subscripts), stays because pdflatex sets it as it is
(``report.latex.NATIVE``: accented Latin letters, typographic symbols), or is shown as its code point
(``[U+4E2D]``). Never raw: pdflatex stops at ``Unicode character π (U+03C0) not set up for use with LaTeX``
(user sweep R5).
"""

from __future__ import annotations

import unicodedata

from hypothesis import given, settings
from hypothesis import strategies as st
from test_latex import compile_tex
from test_tables import make_result

from clusterecon.report.latex import _SPECIAL, NATIVE, document, escape
from clusterecon.report.tables import regression_table

#: what the escaper may emit: printable ASCII and the characters verified to compile as they are
ALLOWED = frozenset(chr(c) for c in range(0x20, 0x7F)) | NATIVE

GREEK = "".join(chr(c) for c in range(0x370, 0x400) if unicodedata.category(chr(c)) != "Cn")
MATH = "".join(chr(c) for c in range(0x2190, 0x2300))  # arrows and mathematical operators
SAMPLES = GREEK + MATH + "中文漢字日本語한국어" + "😀📈🇩🇪" + "Привет" + "e\u0301a\u0308" + "ℝℕ⅓¹²³⁰⁹₀₉€£¥§¶†‡…‰"


def assert_settable(out: str) -> None:
    bad = sorted(set(out) - ALLOWED)
    assert not bad, f"escape() emitted characters pdflatex cannot set: {[f'U+{ord(c):04X}' for c in bad]}"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=40))
def test_escape_of_any_text_has_only_settable_characters(text):
    assert_settable(escape(text))


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(SAMPLES + "ab _%&$#{}\\^~<>|\n\t\x1b\u202e"), max_size=40))
def test_escape_of_greek_math_cjk_and_emoji_has_only_settable_characters(text):
    assert_settable(escape(text))


def test_greek_and_math_symbols_become_commands():
    assert escape("π η Σ ≠ ∞ ∑ √ ≈ ∈ ∂") == (r"$\pi$ $\eta$ $\Sigma$ $\neq$ $\infty$ $\sum$ $\surd$ $\approx$ $\in$ "
                                            r"$\partial$")
    assert escape("ϑ ϕ φ ϵ ε ς Ω") == r"$\vartheta$ $\phi$ $\varphi$ $\epsilon$ $\varepsilon$ $\varsigma$ $\Omega$"
    assert escape("x² x₁ ⇒ ±") == r"x\textsuperscript{2} x\textsubscript{1} $\Rightarrow$ $\pm$"
    # every Greek letter, upper and lower case, has a command (accented Greek letters are not mapped)
    for c in list(range(0x391, 0x3AA)) + list(range(0x3B1, 0x3CA)):
        if c != 0x3A2:  # unassigned
            assert chr(c) in _SPECIAL, f"U+{c:04X}"


def test_characters_latex_cannot_set_become_their_code_point():
    assert escape("中 😀 Ж") == "[U+4E2D] [U+1F600] [U+0416]"
    assert escape("ά") == "[U+03AC]"  # accented Greek: shown, not guessed
    assert escape("e\u0301") == "é"  # a combining accent is composed first (NFC), then set as it is
    assert escape("é ü ß Ł € …") == "é ü ß Ł € …"  # pdflatex sets these itself
    assert escape("a\x1bb") == r"a\textbackslash{}x1bb"  # control characters: as before, their visible escape


def test_table_with_every_mapped_and_native_symbol_compiles(tmp_path):
    """One regression table whose row labels, model name and notes hold every character the escaper maps and
    every one it keeps, plus characters it shows as code points; pdflatex must set all of them without error or
    missing glyph."""
    symbols = sorted(set(_SPECIAL) - set("\t\n\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029") | NATIVE)
    chunks = ["".join(symbols[i:i + 12]) for i in range(0, len(symbols), 12)]
    names = [f"x{i}" for i in range(len(chunks))]
    fit = make_result(names, [0.1] * len(names), [0.05] * len(names))
    labels = {n: "v " + " ".join(c) for n, c in zip(names, chunks)}
    t = regression_table({"π≠∞ 中 model": fit}, labels=labels, notes=["Note: Σ √ ≈ ∈ ∂ ϑ ϕ ² ₀ € ‰ 😀 日本"])
    tex = t.to_latex(caption="Unicode: αβγ ΔΣΩ ⇒ ≤≥", font_size="tiny")
    assert_settable(tex.replace("\n", " "))
    compile_tex(tmp_path, document(tex), "unicode")
