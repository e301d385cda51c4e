"""What a reader sees of an HTML page, and the LaTeX that would show raw in it."""

from __future__ import annotations

import html
import re


def visible_text(page: str) -> str:
    """What a reader sees outside the MathML and code: tags dropped, entities decoded."""
    page = re.sub(r"<math\b.*?</math>|<code>.*?</code>|<pre>.*?</pre>", " ", page, flags=re.S)
    return html.unescape(re.sub(r"<[^>]+>", "", page))


def raw_latex(text: str) -> list[str]:
    """``$...$`` spans, ``\\(`` / ``\\[`` and TeX commands left in ``text``."""
    return re.findall(r"\$[^$]+\$|\\\(|\\\[|\\[A-Za-z]+\{?", text)
