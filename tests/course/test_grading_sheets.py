"""The grading sheets' text: math as MathML (no MathJax offline), nothing of the LaTeX left raw.

The sheets themselves, for a graded course, are checked in test_lifecycle.py.
"""

from __future__ import annotations

import re

import nbformat

from adaptive_lr.course import manual
from adaptive_lr.course.offline_html import render_math
from adaptive_lr.course.pipeline import repo_root

from .rendered import raw_latex, visible_text


def test_inline_math_that_wraps_onto_the_next_line_is_rendered():
    out = render_math("so $\\mathbb{E}[m_t] =\n(1-\\beta^t)\\mu_g$, unbiased")
    assert out.count("<math") == 1 and "$" not in out
    # ... but never across a paragraph: two prices in two paragraphs stay text.
    assert render_math("costs $3 a\n\nand 4$ b") == "costs $3 a\n\nand 4$ b"


def test_every_written_part_renders_without_raw_latex():
    source = nbformat.read(repo_root() / "source" / "adaptive_lr" / "exercises.ipynb", as_version=4)
    parts = manual.written_parts(source)
    assert len(parts) == 40
    math = 0
    for p in parts:
        for name, text in (("question", p.question), ("model answer", p.model_answer),
                           ("rubric", p.rubric)):
            page = manual._md(text)
            math += page.count("<math")
            assert raw_latex(visible_text(page)) == [], (p.grade_id, name)
            for formula in re.findall(r"<math\b.*?</math>", page, flags=re.S):  # markdown kept out
                assert not re.search(r"<(em|strong|p)\b", formula), (p.grade_id, formula[:200])
    assert math > 100


def test_a_students_latex_is_rendered_and_their_words_kept():
    page = manual._md("I set $\\hat m_t = m_t/(1-\\beta_1^t)$ because **bias**.")
    assert "<math" in page and "<strong>bias</strong>" in page
    assert raw_latex(visible_text(page)) == [] and "I set" in visible_text(page)


def test_the_checker_objects_to_raw_latex():
    assert raw_latex(visible_text(manual._md("cost `x` and \\(a\\) $5$ b"))) == []
    assert raw_latex(visible_text("<p>the step $\\eta_t$ here</p>")) == ["$\\eta_t$"]
