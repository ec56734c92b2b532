# Checks of the built docs site (scripts/docs.sh), standard library only.
#
#   python docs/site/check.py links HTML_DIR          every internal href/src of every page resolves, #anchors too
#   python docs/site/check.py dom FILE TEXT...        a DOM that Chromium dumped contains each TEXT
#   python docs/site/check.py png FILE WIDTH HEIGHT   a complete PNG of that size, not one plain colour
from __future__ import annotations

import os
import struct
import sys
import zlib
from html.parser import HTMLParser
from urllib.parse import unquote, urlsplit

LINK_ATTRIBUTES = {"a": "href", "link": "href", "script": "src", "img": "src", "iframe": "src", "form": "action"}


class Page(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.ids: set[str] = set()
        self.links: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        for key in ("id", "name") if tag == "a" else ("id",):
            if values.get(key):
                self.ids.add(str(values[key]))
        attribute = LINK_ATTRIBUTES.get(tag)
        if attribute and values.get(attribute) is not None:
            self.links.append(str(values[attribute]))


def parse(path: str) -> Page:
    page = Page()
    with open(path, encoding="utf-8") as html:
        page.feed(html.read())
    return page


def check_links(site: str) -> int:
    site = os.path.abspath(site)
    pages: dict[str, Page] = {}
    for folder, _dirs, files in os.walk(site):
        for name in files:
            if name.endswith(".html"):
                pages[os.path.join(folder, name)] = parse(os.path.join(folder, name))
    checked = external = 0
    broken = []
    for path, page in sorted(pages.items()):
        for link in page.links:
            parts = urlsplit(link)
            if parts.scheme or parts.netloc:
                external += 1
                continue
            checked += 1
            target = os.path.normpath(os.path.join(os.path.dirname(path), unquote(parts.path))) if parts.path else path
            if os.path.isdir(target):
                target = os.path.join(target, "index.html")
            where = "%s: %s" % (os.path.relpath(path, site), link)
            if not target.startswith(site + os.sep):
                broken.append(where + " (outside the site)")
            elif not os.path.isfile(target):
                broken.append(where + " (no such file)")
            elif parts.fragment and target.endswith(".html"):
                if unquote(parts.fragment) not in pages[target].ids:
                    broken.append(where + " (no such anchor)")
    for line in broken:
        print("broken link: " + line)
    print(
        "docs links: %d pages, %d internal links checked, %d broken, %d external links not followed"
        % (len(pages), checked, len(broken), external)
    )
    return 1 if broken or not checked else 0


def check_dom(path: str, texts: list[str]) -> int:
    with open(path, encoding="utf-8") as dump:
        dom = dump.read()
    missing = [text for text in texts if text not in dom]
    for text in missing:
        print("%s: the page Chromium loaded does not contain %r" % (path, text))
    return 1 if missing or not texts else 0


def check_png(path: str, width: int, height: int) -> int:
    with open(path, "rb") as png:
        data = png.read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        print("%s: not a PNG" % path)
        return 1
    offset, chunks, idat = 8, {}, b""
    while offset < len(data):
        length, kind = struct.unpack(">I4s", data[offset : offset + 8])
        body = data[offset + 8 : offset + 8 + length]
        chunks[kind] = body
        if kind == b"IDAT":
            idat += body
        offset += 12 + length
    got_width, got_height, depth, colour = struct.unpack(">IIBB", chunks[b"IHDR"][:10])
    channels = {0: 1, 2: 3, 4: 2, 6: 4}.get(colour, 0)
    raw = zlib.decompress(idat)
    row = 1 + got_width * channels * depth // 8
    problems = []
    if (got_width, got_height) != (width, height):
        problems.append("%dx%d, not %dx%d" % (got_width, got_height, width, height))
    if depth != 8 or not channels or len(raw) != row * got_height:
        problems.append("incomplete or unexpected image data")
    # rows that differ from each other: a page that rendered nothing is one colour, all its rows alike
    elif len({raw[i * row + 1 : (i + 1) * row] for i in range(0, got_height, 8)}) < 10:
        problems.append("almost blank (fewer than 10 distinct rows)")
    for problem in problems:
        print("%s: %s" % (path, problem))
    if not problems:
        print("docs screenshot: %s, %dx%d, %d bytes" % (path, got_width, got_height, len(data)))
    return 1 if problems else 0


def main(argv: list[str]) -> int:
    if len(argv) >= 2 and argv[0] == "links":
        return check_links(argv[1])
    if len(argv) >= 3 and argv[0] == "dom":
        return check_dom(argv[1], argv[2:])
    if len(argv) == 4 and argv[0] == "png":
        return check_png(argv[1], int(argv[2]), int(argv[3]))
    print("usage: check.py links HTML_DIR | dom FILE TEXT... | png FILE WIDTH HEIGHT", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
