"""The compiled attribute rules select what libxml2 selects, and trafilatura's output does not change."""

from __future__ import annotations

import random
import re

import pytest
from lxml import etree
from lxml import html as lxml_html

from curation.extraction import xpath_rules
from curation.extraction.xpath_rules import AttributeRule, Unsupported, compile_rule


@pytest.fixture
def rules_removed():
    """Each test starts and ends with trafilatura's own XPath objects in place."""
    xpath_rules.uninstall()
    yield
    xpath_rules.uninstall()


def trafilatura_rules() -> list[tuple[str, etree.XPath]]:
    xpath_rules.uninstall()
    return [(f"{name}[{i}]", rule) for name, rules in xpath_rules._rule_lists().items()
            for i, rule in enumerate(rules) if isinstance(rule, etree.XPath)]


def same(a: list, b: list) -> bool:
    return len(a) == len(b) and all(x is y for x, y in zip(a, b))


PAGE = """<html><body>
<div id="Footer-main" class="x">a</div><div class="siteFooter">b</div><span class="share-box">c</span>
<p id="shareThis">d</p><section class="nav-top">e</section><div class="Navigation">f</div>
<div role="Navigation">g</div><div data-lp-replacement-content="">h</div><div aria-hidden="true">i</div>
<div aria-hidden="false">j</div><div class="comments-title">k</div><article class="footer">l</article>
<div><p class="related"><span class="social">m</span></p></div><ul class="footer"><li class="tags">n</li></ul>
<div class="ad">o</div><div class="x ad y">p</div><div style="display:none">q</div><div>r</div>
</body></html>"""


def test_compiled_rules_match_libxml2_on_a_page(rules_removed):
    tree = lxml_html.fromstring(PAGE)
    compiled = 0
    for name, rule in trafilatura_rules():
        try:
            ours = compile_rule(rule.path)
        except Unsupported:
            continue
        compiled += 1
        assert same(ours(tree), rule(tree)), name
        for sub in tree.iter("div"):  # any context node: descendants only, never the node itself
            assert same(ours(sub), rule(sub)), name
    assert compiled >= 10  # trafilatura's discard rules are in the subset
    footer = compile_rule(xpath_rules._rule_lists()["OVERALL_DISCARD_XPATH"][0].path)
    assert [el.text for el in footer(tree)][:3] == ["a", "b", "c"]


def test_each_kind_of_test():
    tree = lxml_html.fromstring(PAGE)
    cases = {
        './/*[contains(@class, "ad")]': ["o", "p"],
        './/*[(self::div or self::span)][starts-with(@class, "share")]': ["c"],
        './/*[contains(translate(@id, "F", "f"), "footer")]': ["a"],
        './/*[@class="ad" or @aria-hidden="true"]': ["i", "o"],
        './/*[@data-lp-replacement-content]': ["h"],
        './/*[(self::p)][contains(@class, "related") or contains(@id, "share")]': ["d", None],
    }
    for path, texts in cases.items():
        got = compile_rule(path)(tree)
        assert same(got, etree.XPath(path)(tree)), path
        assert [el.text for el in got] == texts, path


@pytest.mark.parametrize("path", [
    "(.//article)[1]",                                    # a position
    ".//cite|.//quote",                                   # a union
    ".//header",                                          # no attribute test
    './/*[contains(@class, "a") and contains(@id, "b")]',  # and
    './/*[not(contains(@class, "a"))]',                   # not
    './/*[contains(@class, "")]',                         # true even without the attribute
    './/*[contains(translate(@class, "AB", "a"), "a")]',  # translate that deletes
    './/*[contains(@class, "a")][contains(@id, "b")]',    # two attribute predicates
    './/*[self::div or contains(@class, "a")]',           # tag and attribute tests mixed
])
def test_outside_the_subset_libxml2_keeps_it(path):
    with pytest.raises(Unsupported):
        compile_rule(path)


def test_random_trees_agree_with_libxml2(rules_removed):
    """Trees whose classes and ids are built from the rules' own literals (in both cases, glued,
    at the start and in the middle) so that most tests hit or nearly hit."""
    rules = []
    for _, rule in trafilatura_rules():
        try:
            rules.append((rule, compile_rule(rule.path)))
        except Unsupported:
            pass
    literals = sorted({a or b for _, r in rules for a, b in re.findall(r'"([^"]*)"|\'([^\']*)\'', r.path)} - {""})
    rng = random.Random(0)
    tags = ["div", "p", "span", "section", "list", "item", "article", "a", "ul"]
    attrs = ["class", "id", "role", "style", "aria-hidden", "data-component", "itemprop"]

    def value() -> str:
        words = [rng.choice(literals) for _ in range(rng.randint(1, 3))]
        words = [w.capitalize() if rng.random() < 0.3 else w for w in words]
        return rng.choice([" ", "", "-"]).join(words) if rng.random() < 0.9 else "x" + words[0]

    for _ in range(60):
        root = etree.Element("html")
        nodes = [root]
        for _ in range(120):
            el = etree.SubElement(rng.choice(nodes), rng.choice(tags))
            for attr in rng.sample(attrs, rng.randint(0, 3)):
                el.set(attr, value())
            nodes.append(el)
        for rule, ours in rules:
            assert same(ours(root), rule(root)), rule.path


class Checked:
    """A compiled rule that also runs libxml2's and fails on any difference."""

    def __init__(self, rule: AttributeRule, xpath: etree.XPath, calls: list) -> None:
        self.rule, self.xpath, self.calls, self.path = rule, xpath, calls, xpath.path

    def __call__(self, tree):
        ours, theirs = self.rule(tree), self.xpath(tree)
        assert same(ours, theirs), self.path
        self.calls.append(len(ours))
        return ours


def test_trafilatura_output_identical_on_every_real_page(shared_data, rules_removed):
    from trafilatura import extract

    from bench.real_pages import all_pages
    from curation.extraction.trafilatura import TrafilaturaExtractor, TrafilaturaParams, trafilatura_options

    pages = all_pages(shared_data)
    assert len(pages) > 300
    options = trafilatura_options(TrafilaturaParams())
    shipped = [extract(p.text, **options) for p in pages]

    calls: list[int] = []
    lists = xpath_rules._rule_lists()
    checked = 0
    for rules in lists.values():
        for i, rule in enumerate(rules):
            if isinstance(rule, etree.XPath):
                try:
                    rules[i] = Checked(compile_rule(rule.path), rule, calls)
                    checked += 1
                except Unsupported:
                    pass
    try:
        checked_out = [extract(p.text, **options) for p in pages]  # every call compared element by element
    finally:
        for rules in lists.values():
            for i, rule in enumerate(rules):
                if isinstance(rule, Checked):
                    rules[i] = rule.xpath
    assert checked >= 10 and len(calls) > 5 * len(pages) and sum(calls) > 1000
    assert checked_out == shipped

    step = TrafilaturaExtractor()  # compiled_rules: true by default
    assert [step.extract(p.text) for p in pages] == shipped
    assert xpath_rules.installed()
    form = "<html><body><form><input name='q'></form></body></html>"
    assert type(lxml_html.fromstring(form, parser=xpath_rules._html_parser()).find(".//input")) is lxml_html.HtmlElement
    off = TrafilaturaExtractor(TrafilaturaParams(compiled_rules=False))
    assert off.extract(pages[0].text) == shipped[0] and not xpath_rules.installed()
    assert type(lxml_html.fromstring(form, parser=xpath_rules._html_parser()).find(".//input")) is lxml_html.InputElement
