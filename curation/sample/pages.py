"""HTML pages: an article in realistic page furniture (header, navigation, cookie banner, sidebar,
footer) in three site layouts, and the pages without an article (login, soft 404, tag listing,
client-side app shell).  The furniture's words are in ``data/page_ui.json``, one set per language."""

from __future__ import annotations

import html
import json
import random
from dataclasses import dataclass

from curation.sample.datafiles import load
from curation.sample.english import VOCAB, English

_UI: dict[str, dict] = load("page_ui.json")
_BOILERPLATE: dict[str, list[str]] = load("boilerplate.json")


def esc(s: str) -> str:
    return html.escape(s, quote=True)


def slug(text: str, max_words: int = 8) -> str:
    keep = []
    for w in text.lower().replace("'", "").split():
        w = "".join(ch if ch.isalnum() else "-" for ch in w).strip("-")
        if w and w.isascii():
            keep.append(w)
    return "-".join(keep[:max_words]) or "page"


@dataclass
class Site:
    host: str
    name: str
    lang: str
    theme: str          # the layout: "news", "blog" or "magazine"
    topics: list[str]


def render_blocks(blocks) -> str:
    out = []
    for kind, content in blocks:
        if kind == "p":
            out.append(f"<p>{esc(content)}</p>")
        elif kind == "h2":
            out.append(f"<h2>{esc(content)}</h2>")
        elif kind == "ul":
            items = "".join(f"<li>{esc(x)}</li>" for x in content)
            out.append(f"<ul>{items}</ul>")
        elif kind == "raw":
            out.append(content)
        else:  # pragma: no cover
            raise ValueError(kind)
    return "\n".join(out)


def render_page(rng: random.Random, site: Site, title: str, main_html: str, *, related: list[str],
                meta_charset: str | None, date_text: str, author: str | None,
                with_article: bool = True) -> str:
    """A full HTML document: header + nav + cookie banner + main content + sidebar + footer."""
    ui = _UI[site.lang]
    nav_items = ui["nav"]
    nav = "".join(f'<li><a href="/{slug(x, 2) if site.lang == "en" else "s" + str(i)}/">{esc(x)}</a></li>'
                  for i, x in enumerate(nav_items))
    rel = "".join(f'<li><a href="/{slug(t, 6) or "a"}-{rng.randrange(1000, 9999)}.html">{esc(t)}</a></li>'
                  for t in related)
    head_meta = ""
    if meta_charset == "html5":
        head_meta = '<meta charset="utf-8">\n'
    elif meta_charset == "http-equiv":
        head_meta = '<meta http-equiv="Content-Type" content="text/html; charset=utf-8">\n'
    elif meta_charset:
        head_meta = f'<meta charset="{meta_charset}">\n'
    year = "2024"
    cookie = (f'<div id="cookie-banner" class="cookie-consent" role="dialog"><p>{esc(ui["cookie"])}</p>'
              f'<button class="accept">{esc(ui["accept"])}</button>'
              f'<button class="settings">{esc(ui["settings"])}</button></div>')
    footer = (f'<footer class="site-footer"><div class="footer-links"><ul>'
              f'<li><a href="/privacy">{esc(ui["privacy"])}</a></li>'
              f'<li><a href="/terms">{esc(ui["terms"])}</a></li>'
              f'<li><a href="/contact">{esc(nav_items[-1])}</a></li></ul></div>'
              f'<p class="copyright">&copy; {year} {esc(site.name)}. {esc(ui["rights"])}</p></footer>')
    byline = ""
    if author:
        byline = (f'<p class="byline"><span class="author">{esc(ui["by"])} {esc(author)}</span> '
                  f'<time datetime="{date_text}">{date_text}</time></p>')
    share = (f'<div class="share-buttons"><span>{esc(ui["share"])}</span> <a href="#">Facebook</a> '
             f'<a href="#">X</a> <a href="#">Email</a></div>')
    sidebar = (f'<aside class="sidebar"><div class="widget related"><h3>{esc(ui["related"])}</h3>'
               f'<ul>{rel}</ul></div><div class="widget newsletter"><h3>{esc(ui["newsletter"])}</h3>'
               f'<form action="/subscribe" method="post"><input type="email" name="email">'
               f'<button type="submit">OK</button></form></div></aside>')
    scripts = ('<script>window.dataLayer = window.dataLayer || []; function gtag(){dataLayer.push(arguments);}'
               '</script>\n')
    head = (f'<!DOCTYPE html>\n<html lang="{site.lang}">\n<head>\n{head_meta}'
            f'<title>{esc(title)} | {esc(site.name)}</title>\n'
            f'<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<link rel="stylesheet" href="/static/css/site.css">\n{scripts}</head>\n')
    header = (f'<header class="site-header"><a class="logo" href="/">{esc(site.name)}</a>'
              f'<nav class="main-nav"><ul>{nav}</ul></nav>'
              f'<form class="search" action="/search"><input type="text" name="q" '
              f'placeholder="{esc(ui["search"])}"></form></header>')
    if site.theme == "news":
        body_main = (f'<main id="main"><article class="story">\n<h1>{esc(title)}</h1>\n{byline}\n'
                     f'{main_html}\n{share}\n</article>\n{sidebar}</main>') if with_article else \
                    f'<main id="main">{main_html}\n{sidebar}</main>'
    elif site.theme == "blog":
        body_main = (f'<div id="content" class="wrapper"><div class="post">\n'
                     f'<h1 class="entry-title">{esc(title)}</h1>\n<div class="entry-meta">{byline}</div>\n'
                     f'<div class="entry-content">\n{main_html}\n</div>\n{share}</div>\n'
                     f'<div id="sidebar">{sidebar}</div></div>') if with_article else \
                    f'<div id="content" class="wrapper">{main_html}<div id="sidebar">{sidebar}</div></div>'
    else:  # magazine
        body_main = (f'<div class="layout"><main><div class="article-header"><h1>{esc(title)}</h1>'
                     f'{byline}</div>\n<div class="article-body">\n{main_html}\n</div>{share}</main>\n'
                     f'{sidebar}</div>') if with_article else \
                    f'<div class="layout"><main>{main_html}</main>{sidebar}</div>'
    return (f'{head}<body>\n{cookie}\n{header}\n<div class="breadcrumbs"><a href="/">{esc(nav_items[0])}</a>'
            f' &raquo; <a href="/{site.lang}/">{esc(nav_items[1])}</a></div>\n{body_main}\n{footer}\n'
            f'<script src="/static/js/app.js" async></script>\n</body>\n</html>\n')


def login_main(rng: random.Random) -> str:
    heading = rng.choice(_BOILERPLATE["login_headings"])
    return (f'<div class="auth-box"><h1>{heading}</h1>'
            '<form action="/login" method="post">'
            '<label for="email">Email address</label><input id="email" type="email" name="email">'
            '<label for="pw">Password</label><input id="pw" type="password" name="password">'
            '<label><input type="checkbox" name="remember"> Remember me</label>'
            '<button type="submit">Sign in</button></form>'
            '<p><a href="/forgot">Forgot your password?</a></p>'
            '<p><a href="/register">Create an account</a></p></div>')


def soft404_main(rng: random.Random) -> str:
    heading = rng.choice(_BOILERPLATE["not_found_headings"])
    sorry = rng.choice(_BOILERPLATE["not_found_apologies"])
    return (f'<div class="error-page"><h1>{heading}</h1>'
            f'<p>{sorry}</p>'
            '<form action="/search"><input type="text" name="q"><button>Search</button></form>'
            '<p><a href="/">Back to the homepage</a></p></div>')


def tag_main(rng: random.Random, topic: str) -> str:
    """A tag archive: a heading and a few short link lines (different headline patterns)."""
    en = English(rng, topic)
    kinds = rng.sample(range(6), rng.randint(4, 5))
    items = []
    for k in kinds:
        t = en.title(k)
        items.append(f'<li><a href="/{slug(t)}.html">{esc(t)}</a></li>')
    return (f'<div class="tag-archive"><h1>Tag: {esc(VOCAB[topic].field)}</h1><ul class="post-list">'
            + "".join(items) + '</ul><div class="pagination"><a href="?page=2">Older posts</a></div></div>')


def app_shell(rng: random.Random, site: Site, route: str) -> str:
    """A client-side rendered page: icon-only navigation, an empty mount point, the cookie
    banner as an <aside> and a footer.  No text outside <aside>/<footer>/<script>."""
    ui = _UI["en"]
    icons = "".join(f'<a href="/{x}" aria-label="{x}"><svg width="20" height="20" viewBox="0 0 20 20">'
                    f'<path d="M2 10h16"/></svg></a>' for x in ("home", "search", "account", "menu"))
    state = json.dumps({"route": route, "site": site.host, "build": rng.randrange(10**6, 10**7)})
    return (f'<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n'
            f'<title>{esc(site.name)}</title>\n<meta name="viewport" content="width=device-width, initial-scale=1">\n'
            f'<link rel="stylesheet" href="/static/css/app.css">\n'
            f'<script>window.__INITIAL_STATE__ = {state};</script>\n</head>\n<body>\n'
            f'<header class="topbar"><a class="logo" href="/"><img src="/static/img/logo.svg" alt="{esc(site.name)}"></a>'
            f'<nav class="icons">{icons}</nav></header>\n'
            f'<div id="app" data-route="{esc(route)}"></div>\n'
            f'<aside id="cookie-banner" class="cookie-consent"><p>{esc(ui["cookie"])}</p>'
            f'<button class="accept">{esc(ui["accept"])}</button></aside>\n'
            f'<footer class="site-footer"><ul><li><a href="/privacy">{esc(ui["privacy"])}</a></li>'
            f'<li><a href="/terms">{esc(ui["terms"])}</a></li></ul>'
            f'<p>&copy; 2024 {esc(site.name)}. {esc(ui["rights"])}</p></footer>\n'
            f'<script src="/static/js/app.{rng.randrange(16**8):08x}.js" defer></script>\n</body>\n</html>\n')
