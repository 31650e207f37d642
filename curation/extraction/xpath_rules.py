"""trafilatura's attribute rules, evaluated with the same results at a quarter of the cost.

Profiled on the 319 real pages, 40% of trafilatura's CPU time (FineWeb's settings) goes to a
handful of XPath expressions in ``trafilatura.xpaths`` that it runs on every page, twice for most:
``.//*[(self::div or self::p ...)][contains(@class, "footer") or contains(@id, "related") or ...]``
with up to 90 ``contains``/``starts-with`` tests each. libxml2 evaluates every test separately on
every element, fetching and copying the attribute each time. An ``AttributeRule`` answers the same
question in one pass: the element tests by tag name, then one regular-expression search per
attribute (all of that attribute's ``contains`` and ``starts-with`` literals as alternatives).

Only the subset these rules use is compiled: a descendant step ``.//*``, an optional predicate of
``self::tag`` tests, and one predicate that is an ``or`` of ``contains(A, "lit")``,
``starts-with(A, "lit")`` (``A`` an attribute, or ``translate(attribute, "X", "x")``),
``@attr="lit"`` and ``@attr``. Anything else (positions, unions, ``and``, ``not``) is left to
libxml2, so a later trafilatura with new rules stays correct. ``install()`` puts the compiled rules
in place of the XPath objects in trafilatura's rule lists (in this process); ``uninstall()`` puts
the originals back.

``install()`` also gives trafilatura's HTML parser an element class lookup that runs in C. lxml.html's
own (``HtmlElementClassLookup``) is a Python method called every time Python touches an element of
the tree: ~1.2 M calls on the 189 pages of the real WARCs, 12% of trafilatura's CPU. It only picks
``HtmlElement`` for every tag, except five form tags (``form``, ``input``, ``select``, ``textarea``,
``label``) whose subclasses add form properties (``.value``, ``.inputs``, ...) that trafilatura
never reads; the C lookup gives those ``HtmlElement`` too (and ``HtmlComment``, ... as before).

Equal results are a test, not a hope: ``tests/test_xpath_rules.py`` compares every compiled rule's
element list with libxml2's at every call trafilatura makes on every real page, and trafilatura's
output with and without the rules (BENCHMARKS.md has the CPU saved).
"""

from __future__ import annotations

import re
import threading
from typing import Any

from lxml import etree

__all__ = ["AttributeRule", "Unsupported", "compile_rule", "install", "installed", "uninstall"]

_QUOTED = r"""(?P<{q}>["'])(?P<{name}>.*?)(?P={q})"""
_TEST = re.compile(
    r"\s*(?:"
    r"(?P<or>or\b)"
    r"|self::(?P<tag>[\w-]+)"
    r"|(?P<fn>contains|starts-with)\(\s*(?:"
    r"translate\(\s*@(?P<tattr>[\w-]+)\s*,\s*" + _QUOTED.format(q="q1", name="src") + r"\s*,\s*" + _QUOTED.format(q="q2", name="dst") + r"\s*\)"
    r"|@(?P<attr>[\w-]+))\s*,\s*" + _QUOTED.format(q="q3", name="lit") + r"\s*\)"
    r"|@(?P<eattr>[\w-]+)\s*=\s*" + _QUOTED.format(q="q4", name="elit") +
    r"|@(?P<xattr>[\w-]+)"
    r")"
)
_STEP = re.compile(r"^\s*\.//\*\s*((?:\[[^\[\]]*\]\s*)+)$", re.S)
_PREDICATE = re.compile(r"\[([^\[\]]*)\]")


class Unsupported(ValueError):
    """The expression is outside the subset ``compile_rule`` evaluates: libxml2 keeps it."""


def _or_terms(text: str) -> list[tuple[str, ...]]:
    """A flat ``or`` of tests -> [(kind, ...)]; Unsupported for anything else."""
    terms: list[tuple[str, ...]] = []
    pos, want_term, text = 0, True, text.strip()
    while pos < len(text):
        m = _TEST.match(text, pos)
        if m is None:
            raise Unsupported(f"cannot read {text[pos:pos + 40]!r}")
        pos = m.end()
        if m["or"]:
            if want_term:
                raise Unsupported("'or' without a test before it")
            want_term = True
            continue
        if not want_term:
            raise Unsupported(f"two tests without 'or' between them at {m.group(0).strip()!r}")
        want_term = False
        if m["tag"]:
            terms.append(("self", m["tag"]))
        elif m["fn"]:
            kind = "contains" if m["fn"] == "contains" else "starts"
            if m["lit"] == "":  # contains(@a, "") is true even without the attribute
                raise Unsupported("empty literal")
            if m["tattr"]:
                src, dst = m["src"], m["dst"]
                if len(src) != len(dst) or len(set(src)) != len(src):
                    raise Unsupported("translate() that deletes or repeats characters")
                terms.append((kind, m["tattr"], src, dst, m["lit"]))
            else:
                terms.append((kind, m["attr"], "", "", m["lit"]))
        elif m["eattr"]:
            terms.append(("eq", m["eattr"], m["elit"]))
        else:
            terms.append(("has", m["xattr"]))
    if want_term:
        raise Unsupported("ends without a test")
    return terms


class AttributeRule:
    """A compiled ``.//*[tags][attribute tests]`` rule: ``rule(tree)`` -> the matching descendants
    of ``tree`` in document order, as ``etree.XPath(path)(tree)`` returns them."""

    def __init__(self, path: str, tags: tuple[str, ...], terms: list[tuple[str, ...]]) -> None:
        self.path = path
        self.tags: tuple[Any, ...] = tags or (etree.Element,)
        literals: dict[tuple[str, str, str], list[str]] = {}
        self.equals: list[tuple[str, str]] = []
        self.present: list[str] = []
        for term in terms:
            if term[0] in ("contains", "starts"):
                kind, attr, src, dst, lit = term
                literals.setdefault((attr, src, dst), []).append(re.escape(lit) if kind == "contains" else "^" + re.escape(lit))
            elif term[0] == "eq":
                self.equals.append((term[1], term[2]))
            else:  # "has"
                self.present.append(term[1])
        # one search per (attribute, translation): every literal of that attribute as an alternative
        self.searches = [(attr, str.maketrans(src, dst) if src else None, re.compile("|".join(alts)).search)
                         for (attr, src, dst), alts in literals.items()]

    def matches(self, element: Any) -> bool:
        get = element.get
        for attr, table, search in self.searches:
            value = get(attr)
            if value is not None and search(value.translate(table) if table else value):
                return True
        for attr, literal in self.equals:
            if get(attr) == literal:
                return True
        return any(get(attr) is not None for attr in self.present)

    def __call__(self, tree: Any) -> list[Any]:
        # every test needs an attribute: elements without any are skipped without a look
        return [el for el in tree.iterdescendants(*self.tags) if el.attrib and self.matches(el)]

    def __repr__(self) -> str:
        return f"AttributeRule({self.path!r})"


def compile_rule(path: str) -> AttributeRule:
    """The ``AttributeRule`` for an XPath expression; ``Unsupported`` outside the subset."""
    m = _STEP.match(path)
    if m is None:
        raise Unsupported("not a single './/*[...]' step")
    tags: tuple[str, ...] = ()
    tests: list[tuple[str, ...]] | None = None
    for predicate in _PREDICATE.findall(m.group(1)):
        text = predicate.strip()
        if text.startswith("(") and text.endswith(")"):
            text = text[1:-1]  # "(a or b)": a ")" or "(" left inside is not in the subset
        terms = _or_terms(text)
        if all(t[0] == "self" for t in terms):
            if tags or tests is not None:
                raise Unsupported("tag tests after other tests")
            tags = tuple(t[1] for t in terms)
        elif any(t[0] == "self" for t in terms):
            raise Unsupported("self:: tests mixed with attribute tests")
        elif tests is None:
            tests = terms
        else:
            raise Unsupported("more than one predicate of attribute tests")
    if tests is None:
        raise Unsupported("no attribute tests")
    return AttributeRule(path, tags, tests)


# -- putting the rules in place ------------------------------------------------------------------

_lock = threading.Lock()
_originals: dict[tuple[str, int], Any] = {}  # (list name, index) -> trafilatura's XPath, while installed
_compiled: dict[str, AttributeRule | None] = {}  # XPath source -> its rule (None: outside the subset)


def _rule_lists() -> dict[str, list]:
    import trafilatura.xpaths as xpaths

    return {name: value for name, value in vars(xpaths).items() if isinstance(value, list) and name.isupper()}


def _compiled_rule(path: str) -> AttributeRule | None:
    if path not in _compiled:
        try:
            _compiled[path] = compile_rule(path)
        except Unsupported:
            _compiled[path] = None
    return _compiled[path]


def _html_parser() -> Any:
    from trafilatura.utils import HTML_PARSER

    return HTML_PARSER


def _c_lookup() -> etree.ElementDefaultClassLookup:
    from lxml import html

    return etree.ElementDefaultClassLookup(element=html.HtmlElement, comment=html.HtmlComment,
                                           pi=html.HtmlProcessingInstruction, entity=html.HtmlEntity)


def install() -> int:
    """Put a compiled rule in place of each XPath object of trafilatura's rule lists that the subset
    covers (the lists are shared by every trafilatura module), and the C element class lookup on
    trafilatura's HTML parser. Idempotent and cheap after the first call; returns how many rules
    are in place."""
    with _lock:
        if not _originals:
            _html_parser().set_element_class_lookup(_c_lookup())
            for name, rules in _rule_lists().items():
                for i, rule in enumerate(rules):
                    compiled = _compiled_rule(rule.path) if isinstance(rule, etree.XPath) else None
                    if compiled is not None:
                        _originals[(name, i)] = rule
                        rules[i] = compiled
        return len(_originals)


def uninstall() -> None:
    """Put trafilatura's own XPath objects and lxml.html's element class lookup back."""
    from lxml import html

    with _lock:
        _html_parser().set_element_class_lookup(html.HtmlElementClassLookup())
        lists = _rule_lists()
        for (name, i), rule in _originals.items():
            lists[name][i] = rule
        _originals.clear()


def installed() -> bool:
    return bool(_originals)
