"""/console and /console/{asset}: the console's files come from the binary, exactly the files of
console/ (as console/meson.build lists them), each with its media type, a strong ETag that
revalidates, and a Content-Security-Policy that allows nothing but this origin and no inline
script; none of them names another origin or holds inline script or style."""

import re

import pytest

from support.checks import assert_problem
from support.config import REPO

CONSOLE = REPO / "console"
TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".html": "text/html; charset=utf-8"}


def listed():
    """The files console/meson.build embeds."""
    text = (CONSOLE / "meson.build").read_text(encoding="utf-8")
    return sorted(re.findall(r"'([^']+\.[a-z]+)'", text.split("files(", 1)[1]))


def test_meson_embeds_every_file_of_the_folder():
    on_disk = sorted(p.name for p in CONSOLE.iterdir() if p.name != "meson.build")
    assert listed() == on_disk


def policy(headers):
    return dict(part.strip().split(" ", 1) for part in
                headers["Content-Security-Policy"].split(";") if part.strip())


def test_the_page_allows_only_this_origin_and_no_inline_script(ctx):
    r = ctx.client.get("/console")
    assert r.status_code == 200
    assert r.headers["Content-Type"] == "text/html; charset=utf-8"
    csp = policy(r.headers)
    assert csp["default-src"] == "'none'"
    assert csp["script-src"] == "'self'" and csp["style-src"] == "'self'"
    assert csp["connect-src"] == "'self'" and csp["frame-ancestors"] == "'none'"
    for directive, sources in csp.items():
        for source in sources.split():
            assert source in ("'self'", "'none'", "data:"), (directive, source)
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["X-Frame-Options"] == "DENY"
    assert r.text == (CONSOLE / "index.html").read_text(encoding="utf-8")


@pytest.mark.parametrize("name", listed())
def test_each_file_is_served_as_it_is_on_disk_with_its_type(ctx, name):
    path = "/console" if name == "index.html" else f"/console/{name}"
    r = ctx.client.get(path)
    assert r.status_code == 200
    assert r.content == (CONSOLE / name).read_bytes()
    assert r.headers["Content-Type"] == TYPES[name[name.rindex("."):]]
    assert r.headers["Cache-Control"] == "no-cache"
    etag = r.headers["ETag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag)
    again = ctx.client.get(path, headers={"If-None-Match": etag})
    assert again.status_code == 304 and again.content == b""
    assert ctx.client.get(path, headers={"If-None-Match": '"0000"'}).status_code == 200
    head = ctx.client.head(path)
    assert head.status_code == 200 and head.content == b""


@pytest.mark.parametrize("name", listed())
def test_no_file_names_another_origin_or_holds_inline_script_or_style(name):
    text = (CONSOLE / name).read_text(encoding="utf-8")
    # the only absolute URLs are none at all: every fetch and every file is of this origin
    assert not re.search(r"(https?:)?//[a-z0-9.-]+\.[a-z]{2,}", text, re.I), name
    assert "eval(" not in text and "new Function" not in text and "innerHTML" not in text
    if name.endswith(".html"):
        assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", text), "inline script"
        assert not re.search(r"\sstyle=|<style|\son[a-z]+=", text), "inline style or handler"
    if name.endswith(".js"):
        assert "setAttribute('style'" not in text and ".style." not in text


@pytest.mark.parametrize("name", ["index.html", "nope.js", "app.js.map", "APP.JS", "%2e%2e"])
def test_a_name_that_is_not_a_file_is_a_404_that_lists_them(ctx, name):
    r = ctx.client.get(f"/console/{name}")
    body = assert_problem(r, 404)
    assert "app.js" in body["detail"] and "index.html" not in body["detail"].split("files are")[1]


def test_the_console_is_read_only(ctx):
    r = ctx.client.post("/console", data=b"", invalid=True)
    assert_problem(r, 405)
    assert "GET" in r.headers["Allow"]
