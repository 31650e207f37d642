"""The plan of a sample: the sites, then every page of every planted case with its label.

Each group of pages draws from its own ``random.Random`` seeded by (seed, case, index), so that
one case's pages do not change when another case changes."""

from __future__ import annotations

import datetime as _dt
import random
from dataclasses import dataclass

from curation.sample.cases import BOILERPLATE_EXPECTED, COUNTS, QUALITY_CASES
from curation.sample.copies import near_duplicate_article, similar_article
from curation.sample.datafiles import load
from curation.sample.english import TOPICS, VOCAB, English, english_article, short_article
from curation.sample.foreign import LANGUAGES, foreign_paragraphs
from curation.sample.pages import Site, app_shell, login_main, render_blocks, render_page, slug, soft404_main, tag_main
from curation.sample.payloads import NON_HTML_KINDS
from curation.sample.quality_pages import c4_article, fineweb_article, spam_blocks
from curation.sample.warc import STATUS_TEXT

# English site names, foreign hosts, and the URLs the URL filter blocks: the UT1 blacklist's
# domains (adult category, bundled with datatrove's URLFilter) and words of its banned_words.txt
_SITES: dict = load("sites.json")


@dataclass
class Page:
    case: str
    url: str = ""
    lang: str | None = "en"
    status: int = 200
    content_type: str = "text/html"      # WARC-Identified-Payload-Type
    http_content_type: str = "text/html; charset=utf-8"
    body: bytes = b""
    expected: str = "kept"
    expected_step: str | None = None
    charset: str | None = "utf-8"
    charset_source: str | None = "http+meta"
    chunked: bool = False
    gzip_body: bool = False
    location: str | None = None
    variant: str | None = None
    key: int = 0                         # identity used to link copies to their original
    duplicate_of: int | None = None
    near_duplicate_of: int | None = None
    similar_to: int | None = None
    edit_fraction: float | None = None
    jaccard: float | None = None
    record_id: str = ""


def _day_of_2024(r: random.Random) -> _dt.date:
    return _dt.date(2024, 1, 1) + _dt.timedelta(days=r.randrange(366))


def _scale(n: int, files: int) -> int:
    return n if files >= 6 else max(1, round(n * files / 6))


class Planner:
    def __init__(self, seed: int, files: int):
        self.seed = seed
        self.files = files
        self.rng = random.Random(f"curation.sample:{seed}")
        self.sites = self._make_sites()
        self.pages: list[Page] = []
        self._key = 0

    # -- sites ------------------------------------------------------------------------
    def _make_sites(self) -> list[Site]:
        r = self.rng
        combos = [(a, b) for a in _SITES["name_starts"] for b in _SITES["name_ends"]]
        r.shuffle(combos)
        sites = []
        for i, (a, b) in enumerate(combos[:36]):
            tld = r.choice(_SITES["tlds"])
            host = r.choice(["www.", "www.", "", "news.", "blog."]) + f"{a}{b}{tld}"
            name = f"The {a.capitalize()} {b.capitalize()}"
            sites.append(Site(host=host, name=name, lang="en", theme=("news", "blog", "magazine")[i % 3],
                              topics=r.sample(TOPICS, 3)))
        return sites

    def _foreign_site(self, lang: str) -> Site:
        r = self.rng
        town = r.choice(_SITES["foreign_towns"])
        host = "www." + r.choice(_SITES["foreign_hosts"][lang]).format(town)
        return Site(host=host, name=town.capitalize() + " " + lang.upper(), lang=lang,
                    theme=r.choice(["news", "blog", "magazine"]), topics=[])

    def _next_key(self) -> int:
        self._key += 1
        return self._key

    def _url(self, site: Site, section: str, title: str, r: random.Random) -> str:
        d = _day_of_2024(r)
        style = r.randrange(4)
        s = slug(title)
        if style == 0:
            path = f"/{section}/{d:%Y/%m/%d}/{s}"
        elif style == 1:
            path = f"/{section}/{s}-{r.randrange(10000, 99999)}.html"
        elif style == 2:
            path = f"/{d:%Y/%m}/{s}/"
        else:
            path = f"/articles/{r.randrange(100000, 999999)}/{s}"
        return f"https://{site.host}{path}"

    def _charset_mode(self, r: random.Random, encoding: str | None) -> tuple[str, str | None, str]:
        """(HTTP Content-Type, meta charset kind, charset_source): a legacy ``encoding`` is declared in HTTP
        only; UTF-8 pages in HTTP and a meta tag, in the meta tag only, or nowhere."""
        if encoding:
            return f"text/html; charset={encoding}", None, "http"
        x = r.random()
        if x < 0.74:
            return "text/html; charset=utf-8", r.choice(["html5", "http-equiv"]), "http+meta"
        if x < 0.92:
            return "text/html", r.choice(["html5", "http-equiv"]), "meta"
        return "text/html", None, "none"

    def _related(self, r: random.Random, topic: str | None, lang: str) -> list[str]:
        if lang != "en":
            return [foreign_paragraphs(r, lang, 0)[0] for _ in range(r.randint(3, 5))]
        en = English(r, topic or r.choice(TOPICS))
        return [en.title() for _ in range(r.randint(3, 6))]

    # -- page factories -----------------------------------------------------------------
    def article_page(self, case: str, r: random.Random, site: Site | None = None, url: str | None = None,
                     art: dict | None = None, encoding: str | None = None) -> tuple[Page, dict, Site]:
        """An English article page (a new article unless ``art`` is given): (page, article, site)."""
        site = site or r.choice(self.sites)
        topic = r.choice(site.topics)
        art = art or english_article(r, topic)
        when = _day_of_2024(r)
        main = render_blocks(art["blocks"])
        http_ct, meta, source = self._charset_mode(r, encoding)
        page_html = render_page(r, site, art["title"], main, related=self._related(r, art["topic"], "en"),
                                meta_charset=meta, date_text=when.isoformat(), author=art["author"])
        body = page_html.encode(encoding or "utf-8")
        url = url or self._url(site, VOCAB[art["topic"]].section, art["title"], r)
        page = Page(case=case, url=url, body=body, http_content_type=http_ct, charset=encoding or "utf-8",
                    charset_source=source, key=self._next_key())
        return page, art, site

    def _legacy_english(self, r: random.Random, page: Page, art: dict, site: Site, encoding: str) -> Page:
        """Re-render a good article with typographic characters, served as windows-1252."""
        blocks = list(art["blocks"])
        for idx, (kind, text) in enumerate(blocks):
            if kind == "p":
                name = r.choice(["José Núñez", "Zoë Brontë", "André Côté", "Renée Müller"])
                quote = (f"{name}, who runs the café by the square, put it plainly: "
                         f"“It’s not perfect – but it works.”")
                first, _, others = text.partition(". ")
                blocks[idx] = (kind, f"{first}. {quote} {others}".strip())
                break
        art["blocks"] = blocks
        when = _day_of_2024(r)
        html_text = render_page(r, site, art["title"], render_blocks(blocks),
                                related=self._related(r, art["topic"], "en"), meta_charset=None,
                                date_text=when.isoformat(), author=art["author"])
        page.body = html_text.encode(encoding)
        page.http_content_type = f"text/html; charset={encoding}"
        page.charset, page.charset_source = encoding, "http"
        return page

    def _foreign_page(self, r: random.Random, lang: str, encoding: str | None) -> Page:
        site = self._foreign_site(lang)
        title, paras = foreign_paragraphs(r, lang, r.randint(5, 9))
        main = render_blocks([("p", p) for p in paras])
        http_ct, meta, source = self._charset_mode(r, encoding)
        html_text = render_page(r, site, title, main, related=self._related(r, None, lang), meta_charset=meta,
                                date_text="2024-05-01", author=None)
        body = html_text.encode(encoding or "utf-8")
        url = f"https://{site.host}/{_SITES['foreign_paths'][lang]}/{r.randrange(100000, 999999)}.html"
        return Page(case="foreign_article", url=url, lang=lang, body=body, http_content_type=http_ct,
                    expected="language", charset=encoding or "utf-8", charset_source=source,
                    key=self._next_key())

    # -- the plan, case by case (the order fixes the keys, hence the sample's bytes) -----
    def plan(self) -> list[Page]:
        n = {k: _scale(v, self.files) for k, v in COUNTS.items()}
        originals = self._good_articles(n)
        self._wire_encodings(n)
        self._copies(n, originals)
        self._foreign_articles(n)
        self._spam(n)
        self._boilerplate(n)
        self._short_pages(n)
        self._quality_pages(n)
        self._blocked_urls(n)
        self._non_html(n)
        self._non_200(n)
        seen: set[str] = set()
        for p in self.pages:  # every URL once
            while p.url in seen:
                p.url += "-2" if "?" not in p.url else "&v=2"
            seen.add(p.url)
        return self.pages

    def _good_articles(self, n: dict[str, int]) -> list[tuple[Page, dict, Site]]:
        """Good articles (two of them in windows-1252; one in iso-8859-1 is among the German ones)."""
        originals = []
        for i in range(n["good_article"]):
            pr = random.Random(f"{self.seed}:good:{i}")
            encoding = "windows-1252" if i in (5, 17) else None
            page, art, site = self.article_page("good_article", pr, encoding=encoding)
            if encoding:
                art = dict(art)
                page = self._legacy_english(pr, page, art, site, encoding)
            originals.append((page, art, site))
            self.pages.append(page)
        return originals

    def _wire_encodings(self, n: dict[str, int]) -> None:
        for i in range(n["chunked"] + n["gzip_encoded"]):
            pr = random.Random(f"{self.seed}:enc:{i}")
            case = "chunked" if i < n["chunked"] else "gzip_encoded"
            page, _, _ = self.article_page(case, pr)
            page.chunked = case == "chunked"
            page.gzip_body = case == "gzip_encoded"
            self.pages.append(page)

    def _copies(self, n: dict[str, int], originals: list[tuple[Page, dict, Site]]) -> None:
        """Exact duplicates, near duplicates and similar articles, each of a different good article."""
        r = self.rng
        cand = [o for o in originals if o[0].charset == "utf-8"]
        exact_src = r.sample(cand, n["exact_duplicate"])
        for i, (orig, _art, site) in enumerate(exact_src):
            pr = random.Random(f"{self.seed}:exact:{i}")
            other = pr.choice([s for s in self.sites if s.host != site.host])
            style = pr.randrange(3)
            path = orig.url.split("/", 3)[3]
            if style == 0:
                url = f"https://{other.host}/syndicated/{path}"
            elif style == 1:
                url = f"https://{site.host}/amp/{path}"
            else:
                url = f"http://{site.host.removeprefix('www.')}/{path}?utm_source=feed&utm_medium=rss"
            page = Page(case="exact_duplicate", url=url, body=orig.body, http_content_type=orig.http_content_type,
                        charset=orig.charset, charset_source=orig.charset_source, key=self._next_key(),
                        duplicate_of=orig.key)
            self.pages.append(page)
        rest = [o for o in cand if o not in exact_src]
        near_src = r.sample(rest, n["near_duplicate"])
        for i, (orig, art, site) in enumerate(near_src):
            pr = random.Random(f"{self.seed}:near:{i}")
            variant = ("word_edits", "sentence_edits")[i % 2]
            art2, frac, jac = near_duplicate_article(pr, art, variant)
            # a sister site with the same layout, so that the same parts of the page are extracted
            other = pr.choice([s for s in self.sites if s.host != site.host and s.theme == site.theme])
            page, _, _ = self.article_page("near_duplicate", pr, site=other, art=art2)
            page.near_duplicate_of = orig.key
            page.variant = variant
            page.edit_fraction = round(frac, 4)
            page.jaccard = round(jac, 4)
            self.pages.append(page)

        # similar articles: the same story, too different to be near duplicates
        rest = [o for o in rest if o not in near_src]
        similar_src = random.Random(f"{self.seed}:similar").sample(rest, n["similar_article"])
        for i, (orig, art, site) in enumerate(similar_src):
            pr = random.Random(f"{self.seed}:similar:{i}")
            variant = ("follow_up", "rewrite")[i % 2]
            art2, jac = similar_article(pr, art, variant)
            other = pr.choice([s for s in self.sites if s.host != site.host and s.theme == site.theme])
            page, _, _ = self.article_page("similar_article", pr, site=other, art=art2)
            page.similar_to = orig.key
            page.variant = variant
            page.jaccard = round(jac, 4)
            self.pages.append(page)

    def _foreign_articles(self, n: dict[str, int]) -> None:
        for i in range(n["foreign_article"]):
            lang = LANGUAGES[i % len(LANGUAGES)]
            pr = random.Random(f"{self.seed}:foreign:{i}")
            encoding = None
            if lang == "de" and i // len(LANGUAGES) == 1:
                encoding = "iso-8859-1"
            if lang == "ja" and i // len(LANGUAGES) == 1:
                encoding = "shift_jis"
            self.pages.append(self._foreign_page(pr, lang, encoding))

    def _spam(self, n: dict[str, int]) -> None:
        for i in range(n["spam"]):
            pr = random.Random(f"{self.seed}:spam:{i}")
            variant = "repeat" if i % 2 == 0 else "list"
            title, blocks = spam_blocks(pr, variant)
            host = f"www.{pr.choice(['best', 'top', 'mega', 'super'])}-{pr.choice(['deals', 'shop', 'outlet', 'store'])}" \
                   f"-{pr.randrange(10, 99)}.{pr.choice(['com', 'net', 'biz', 'shop'])}"
            site = Site(host=host, name=host.split(".")[1].replace("-", " ").title(), lang="en",
                        theme=pr.choice(["news", "blog", "magazine"]), topics=[])
            html_text = render_page(pr, site, title, render_blocks(blocks), related=[title] * 3,
                                    meta_charset="html5", date_text="2024-06-01", author=None)
            self.pages.append(Page(case="spam", url=f"https://{host}/{slug(title)}.html", body=html_text.encode(),
                                   expected="quality", expected_step="gopher_repetition", variant=variant,
                                   key=self._next_key()))

    def _boilerplate(self, n: dict[str, int]) -> None:
        kinds = ["app_shell", "login", "soft_404", "tag_listing"]
        for i in range(n["boilerplate_only"]):
            pr = random.Random(f"{self.seed}:boiler:{i}")
            kind = kinds[i % len(kinds)]
            site = pr.choice(self.sites)
            topic = pr.choice(site.topics)
            field = VOCAB[topic].field
            if kind == "login":
                main, title, url = login_main(pr), "Sign in", f"https://{site.host}/account/login?next=%2F"
            elif kind == "soft_404":
                main, title = soft404_main(pr), "Page not found"
                url = f"https://{site.host}/{slug(English(pr, topic).title())}-{pr.randrange(100, 999)}"
            elif kind == "tag_listing":
                main, title = tag_main(pr, topic), f"Tag: {field}"
                url = f"https://{site.host}/tag/{slug(field)}/"
            else:
                route = pr.choice(["/account", "/search", "/saved", "/notifications", "/settings"])
                main, title, url = "", site.name, f"https://{site.host}{route}"
            if kind == "app_shell":
                html_text = app_shell(pr, site, url.split("/", 3)[3])
            else:
                html_text = render_page(pr, site, title, main, related=self._related(pr, topic, "en"),
                                        meta_charset="html5", date_text="2024-01-01", author=None,
                                        with_article=False)
            expected, step = BOILERPLATE_EXPECTED[kind]
            self.pages.append(Page(case="boilerplate_only", url=url, body=html_text.encode(), expected=expected,
                                   expected_step=step, variant=kind, key=self._next_key()))

    def _short_pages(self, n: dict[str, int]) -> None:
        for i in range(n["short_page"]):
            pr = random.Random(f"{self.seed}:short:{i}")
            site = pr.choice(self.sites)
            art = short_article(pr, pr.choice(site.topics))
            page, _, _ = self.article_page("short_page", pr, site=site, art=art)
            page.expected, page.expected_step = "quality", "gopher_quality"
            self.pages.append(page)

    def _quality_pages(self, n: dict[str, int]) -> None:
        """Pages that only C4's or FineWeb's quality filter drops."""
        for case, step in QUALITY_CASES.items():
            for i in range(n[case]):
                pr = random.Random(f"{self.seed}:{case}:{i}")
                site = pr.choice(self.sites)
                topic = pr.choice(site.topics)
                if step == "c4_quality":
                    art, variant = c4_article(pr, case, i, topic, site.name)
                else:
                    art, variant = fineweb_article(pr, case, i, topic)
                page, _, _ = self.article_page(case, pr, site=site, art=art)
                page.expected, page.expected_step, page.variant = "quality", step, variant
                self.pages.append(page)

    def _blocked_urls(self, n: dict[str, int]) -> None:
        domains, words = _SITES["blocked_domains"], _SITES["banned_url_words"]
        for i in range(n["blocked_url"]):
            pr = random.Random(f"{self.seed}:blocked:{i}")
            page, art, site = self.article_page("blocked_url", pr)
            if i < len(domains) and i < n["blocked_url"] - min(2, n["blocked_url"] // 2):
                page.url = f"https://{pr.choice(['www.', ''])}{domains[i]}/{slug(art['title'])}"
                page.variant = "blocklisted_domain"
            else:
                page.url = f"https://{site.host}/{words[i % len(words)]}/{slug(art['title'])}"
                page.variant = "banned_url_word"
            page.expected = "url_filter"
            self.pages.append(page)

    def _non_html(self, n: dict[str, int]) -> None:
        for i in range(n["non_html"]):
            pr = random.Random(f"{self.seed}:nonhtml:{i}")
            ctype, ext, pattern, make = NON_HTML_KINDS[i % len(NON_HTML_KINDS)]
            body = make(pr)
            site = pr.choice(self.sites)
            url = f"https://{site.host}/{pattern.format(pr.randrange(1000, 9999))}{ext}"
            http_ct = ctype + ("; charset=utf-8" if ctype.startswith("text/") or "javascript" in ctype else "")
            self.pages.append(Page(case="non_html", url=url, body=body, content_type=ctype, http_content_type=http_ct,
                                   expected="reader:non_html", charset=None, charset_source=None, lang=None,
                                   key=self._next_key()))

    def _non_200(self, n: dict[str, int]) -> None:
        """Redirects, then 404s."""
        for i in range(n["redirect"] + n["not_found"]):
            pr = random.Random(f"{self.seed}:non200:{i}")
            site = pr.choice(self.sites)
            title = English(pr, pr.choice(site.topics)).title()
            if i < n["redirect"]:
                status = 301 if i % 2 == 0 else 302
                target = f"https://{site.host}/{slug(title)}/"
                text = STATUS_TEXT[status]
                body = (f'<html><head><title>{status} {text}</title></head><body><h1>{text}</h1>'
                        f'<p>The document has moved <a href="{target}">here</a>.</p></body></html>\n')
                page = Page(case="redirect", url=f"http://{site.host}/{slug(title)}", status=status,
                            body=body.encode(), location=target, expected="quality",
                            # so few words that its top 2-gram is over 20% of the characters (Gopher top_2_gram)
                            expected_step="gopher_repetition",
                            key=self._next_key())
            else:
                html_text = render_page(pr, site, "Page not found", soft404_main(pr),
                                        related=self._related(pr, None, "en"), meta_charset="html5",
                                        date_text="2024-01-01", author=None, with_article=False)
                page = Page(case="not_found", url=f"https://{site.host}/{slug(title)}-{pr.randrange(10, 99)}",
                            status=404, body=html_text.encode(), expected="quality", expected_step="gopher_quality",
                            key=self._next_key())  # like the soft 404s of boilerplate_only
            self.pages.append(page)
