"""Feedback and formgrader pages: math rendered as MathML (no CDN), long lines wrapped."""

import nbformat
from nbconvert import HTMLExporter
from traitlets.config import Config

from adaptive_lr.course.offline_html import OfflinePage, render_math


def test_inline_and_display_math_become_mathml():
    out = render_math(r"Step $\eta_t = \eta/\sqrt{t}$ and $$G_t = \sum_s g_s^2$$ cost $5.")
    assert out.count("<math") == 2 and 'display="block"' in out and 'display="inline"' in out
    assert "$" not in out.replace("$5", "")
    assert "\\eta" not in out


def test_code_and_prices_are_left_alone():
    text = "Run `x = $HOME` and\n```\necho $a$\n```\nIt costs $3 and $4 each."
    assert render_math(text) == text


def test_unparsable_math_is_kept_verbatim():
    assert render_math(r"bad $\frac{1}{$ here") == r"bad $\frac{1}{$ here"


def _html(markdown: str) -> str:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_markdown_cell(markdown),
                nbformat.v4.new_code_cell("x", outputs=[nbformat.v4.new_output(
                    "error", ename="AssertionError", evalue="m", traceback=["AssertionError: " + "long " * 80])])]
    config = Config()
    config.HTMLExporter.preprocessors = [OfflinePage]
    return HTMLExporter(config=config).from_notebook_node(nb)[0]


def test_exported_page_has_mathml_and_wrapping_css():
    html = _html(r"The answer: $\theta_t = \theta_{t-1} - \eta\, g_t$.")
    assert "<math" in html and "\\theta" not in html.split("<body", 1)[1]
    assert "white-space: pre-wrap" in html
