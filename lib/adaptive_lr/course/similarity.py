"""How alike the students' graded functions are: to the reference library's source and to each other.

The detector: the **AST-normalized winnowing** of MOSS (Schleimer, Wilkerson
and Aiken, "Winnowing: local algorithms for document fingerprinting",
SIGMOD 2003), applied to a normalized token stream of each function rather
than to its text. Normalizing the syntax tree makes renaming variables,
reformatting, editing comments and docstrings, and rewriting numbers
(``0.9`` vs ``9e-1``) invisible; what remains is the structure of the
computation and the NumPy calls made. Why not a package: ``copydetect``
(PyPI 0.5.0, March 2024, one maintainer) fingerprints pygments tokens of
any language and reports per file; it is not told that only the graded
functions matter, nor which code the release itself gave every student.
The whole detector here is the few functions below, tested.

Per student, each graded function is reduced to k-gram fingerprints (k = 6
tokens, winnowing window 4). A pair of submissions is compared function by
function (Jaccard index of the fingerprint sets, over the functions both
wrote), and the pair's similarity is the fingerprint-weighted mean over
those functions. Fingerprints that the release's own code produces (the
skeletons) are removed first, and functions with fewer than
:data:`MIN_FINGERPRINTS` fingerprints (``return beta * m + (1 - beta) *
grad`` has only one way to be written) are left out, since their
similarity means nothing. A student is compared with the reference
implementation by containment instead (the share of the student's
fingerprints found in the reference function and the module-level helpers
it calls), since the reference holds more than the exercise asks for.

Pairs at or above :data:`THRESHOLD` are **flagged for the instructor to
look at, never penalized**: similar code is also what correct solutions to
a precisely specified exercise look like, and the report says so.
"""

from __future__ import annotations

import ast
import hashlib
import inspect
import itertools
from dataclasses import dataclass

K, WINDOW = 6, 4
MIN_FINGERPRINTS = 8
THRESHOLD = 0.8
_KEEP_NAMES = {"np", "math", "numpy"}


class _Tokens(ast.NodeVisitor):
    def __init__(self):
        self.out: list[str] = []

    def generic_visit(self, node):
        if isinstance(node, ast.Expr) and isinstance(getattr(node, "value", None), ast.Constant) \
                and isinstance(node.value.value, str):
            return  # a docstring or a bare string
        if isinstance(node, (ast.Load, ast.Store, ast.Del)):
            return
        if isinstance(node, ast.Name):
            self.out.append(node.id if node.id in _KEEP_NAMES else "V")
            return
        if isinstance(node, ast.arg):
            self.out.append("A")
            return
        if isinstance(node, ast.Constant):
            self.out.append("S" if isinstance(node.value, str) else "N")
            return
        self.out.append(type(node).__name__)
        if isinstance(node, ast.Attribute):
            self.out.append("." + node.attr)
        super().generic_visit(node)


def tokens(source: str) -> list[str]:
    """The normalized token stream of ``source`` (names -> V, arguments -> A, numbers -> N)."""
    visitor = _Tokens()
    visitor.visit(ast.parse(source))
    return visitor.out


def fingerprints(source: str, k: int = K, window: int = WINDOW) -> set[int]:
    """Winnowed k-gram hashes of ``source``'s normalized tokens (empty when it does not parse)."""
    try:
        toks = tokens(source)
    except SyntaxError:
        return set()
    grams = [int.from_bytes(hashlib.blake2b(" ".join(toks[i:i + k]).encode(), digest_size=8).digest(), "big")
             for i in range(len(toks) - k + 1)]
    if len(grams) <= window:
        return set(grams)
    chosen = set()
    for i in range(len(grams) - window + 1):
        win = grams[i:i + window]
        low = min(win)
        chosen.add(low)
    return chosen


def jaccard(a: set, b: set) -> float:
    return len(a & b) / len(a | b) if a or b else 0.0


def functions_of(source: str, names) -> dict:
    """name -> source of each top-level ``def`` in ``source`` whose name is in ``names``."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return {}
    out = {}
    for node in tree.body:
        if isinstance(node, ast.FunctionDef) and node.name in names:
            out[node.name] = ast.get_source_segment(source, node) or ""
    return out


def reference_source(name: str) -> str:
    """The reference implementation of ``name`` and the module-level helpers it calls."""
    from .. import optim

    fn = getattr(optim, name)
    module = inspect.getmodule(fn)
    text = inspect.getsource(fn)
    called = {n.func.id for n in ast.walk(ast.parse(text)) if isinstance(n, ast.Call)
              and isinstance(n.func, ast.Name)}
    for helper in sorted(called):
        obj = getattr(module, helper, None)
        if inspect.isfunction(obj) and obj.__module__ == module.__name__ and helper != name:
            text += "\n\n" + inspect.getsource(obj)
    return text


@dataclass(frozen=True)
class Pair:
    a: str
    b: str  # another student, or "reference implementation"
    similarity: float
    functions: tuple  # (name, jaccard) of the functions compared, most similar first

    @property
    def flagged(self) -> bool:
        return self.similarity >= THRESHOLD


def _prints(codes: dict, base: dict) -> dict:
    out = {}
    for name, src in codes.items():
        fp = fingerprints(src) - base.get(name, set())
        if len(fp) >= MIN_FINGERPRINTS:
            out[name] = fp
    return out


def containment(a: set, b: set) -> float:
    """The share of ``a``'s fingerprints that are also in ``b``."""
    return len(a & b) / len(a) if a else 0.0


def _compare(a: str, fa: dict, b: str, fb: dict, measure=jaccard) -> Pair | None:
    common = sorted(set(fa) & set(fb))
    if not common:
        return None
    per = [(n, measure(fa[n], fb[n]), len(fa[n] | fb[n])) for n in common]
    weight = sum(w for _, _, w in per)
    score = sum(j * w for _, j, w in per) / weight
    return Pair(a, b, score, tuple((n, round(j, 3)) for n, j, _ in sorted(per, key=lambda x: -x[1])))


REFERENCE = "reference implementation"


def compare_all(codes: dict, skeleton: dict, names) -> list[Pair]:
    """Every student against the reference and against every other student, most similar first.

    ``codes``: student -> {function name: source}; ``skeleton``: function name -> the release's
    code for it (its fingerprints are discounted).
    """
    base = {n: fingerprints(src) for n, src in skeleton.items()}
    prints = {s: _prints(c, base) for s, c in codes.items()}
    reference = _prints({n: reference_source(n) for n in names}, base)
    pairs = []
    for s in sorted(prints):
        # How much of the student's function is in the reference (which also holds helpers).
        p = _compare(s, prints[s], REFERENCE, reference, containment)
        if p:
            pairs.append(p)
    for a, b in itertools.combinations(sorted(prints), 2):
        p = _compare(a, prints[a], b, prints[b])
        if p:
            pairs.append(p)
    return sorted(pairs, key=lambda p: (-p.similarity, p.a, p.b))


def groups(pairs) -> list[list[str]]:
    """Students linked by the given pairs (connected components), largest first."""
    parent: dict = {}

    def find(x):
        while parent.setdefault(x, x) != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for p in pairs:
        parent[find(p.a)] = find(p.b)
    out: dict = {}
    for x in list(parent):
        out.setdefault(find(x), []).append(x)
    return sorted((sorted(g) for g in out.values()), key=lambda g: (-len(g), g))
