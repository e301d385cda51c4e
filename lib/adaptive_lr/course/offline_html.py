"""Feedback and formgrader pages that read well offline: math as MathML, long lines wrapped.

nbconvert's templates load MathJax from a CDN, so in a classroom without
internet (or a student's laptop on a train) every ``$\\eta_t$`` of a written
answer stays raw LaTeX. :class:`OfflinePage` converts the math of markdown
cells to MathML (``latex2mathml``) before the page is rendered; browsers draw
MathML themselves, with no script and no network. It also adds a style sheet
that wraps long output lines (a failure message's "Likely mistake: ..." ran
off the right edge of the page).

It runs in ``nbgrader generate_feedback`` and in the formgrader's exporter
(both configured in ``grader_config.py``). Math that ``latex2mathml`` cannot
parse is left as it was; code spans and fenced code are never touched.
"""

from __future__ import annotations

import re

from nbconvert.preprocessors import Preprocessor
from traitlets import Bool

WRAP_CSS = """/* adaptive-lr: long lines wrap instead of running off the page */
.jp-OutputArea-output pre, .output_area pre, .output_subarea pre, div.output_text pre,
.jp-RenderedText pre, pre.output, .jp-OutputArea-output {
  white-space: pre-wrap !important; overflow-wrap: anywhere; word-break: break-word;
}
math[display="block"] { display: block; margin: 0.5em 0; }
"""
_MARK = "adaptive-lr: long lines wrap"

# Fenced code, inline code: kept verbatim. Then display math, then inline math.
_CODE = re.compile(r"(```.*?```|~~~.*?~~~|`[^`\n]*`)", re.DOTALL)
_DISPLAY = re.compile(r"\$\$(.+?)\$\$|\\\[(.+?)\\\]", re.DOTALL)
# Inline math may wrap onto the next line of its paragraph, never past a blank line.
_INLINE = re.compile(
    r"(?<![\\$])\$(?!\s)((?:[^$\n]|\n(?![ \t]*\n))+?)(?<!\s)\$(?!\d)|\\\((.+?)\\\)"
)


def _mathml(tex: str, display: str) -> str | None:
    from latex2mathml.converter import convert

    try:
        return convert(tex.strip(), display=display)
    except Exception:  # unparsable LaTeX stays as the student wrote it
        return None


def _replace(pattern, display):
    def sub(match):
        tex = next(g for g in match.groups() if g is not None)
        html = _mathml(tex, display)
        return html if html is not None else match.group(0)

    return lambda text: pattern.sub(sub, text)


_display, _inline = _replace(_DISPLAY, "block"), _replace(_INLINE, "inline")


def render_math(markdown: str) -> str:
    """``markdown`` with its ``$...$``, ``$$...$$``, ``\\(...\\)``, ``\\[...\\]`` math as MathML."""
    parts = _CODE.split(markdown)
    for i in range(0, len(parts), 2):  # even parts are outside code
        parts[i] = _inline(_display(parts[i]))
    return "".join(parts)


class OfflinePage(Preprocessor):
    """Math to MathML in markdown cells; the line-wrapping style sheet in the page's inline CSS."""

    enabled = Bool(True).tag(config=True)

    def preprocess(self, nb, resources):
        nb, resources = super().preprocess(nb, resources)
        inlining = resources.setdefault("inlining", {})
        css = list(inlining.get("css") or [])
        if not any(_MARK in c for c in css):
            css.append(WRAP_CSS)
        inlining["css"] = css
        return nb, resources

    def preprocess_cell(self, cell, resources, index):
        if cell.cell_type == "markdown" and ("$" in cell.source or "\\(" in cell.source or "\\[" in cell.source):
            cell.source = render_math(cell.source)
        return cell, resources
