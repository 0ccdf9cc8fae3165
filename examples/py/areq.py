#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python twin of examples/areq.cpp: the shape of areq.py from Real Python's "Async IO in Python:
A Complete Walkthrough" (fetch many URLs concurrently, extract the links with a regex, write
"source<TAB>link" lines to a file), written over asyncio streams instead of aiohttp: a minimal
HTTP/1.1 client (GET, Content-Length, Connection: close) with a semaphore bounding the open
connections, against a small HTTP/1.1 server started on 127.0.0.1 serving generated pages.

    areq.py               crawl the generated site, print a summary that does not depend on timing
    areq.py --serve N     only serve, on a free port (printed), until N requests were answered
"""

import asyncio
import os
import re
import sys
import tempfile

HREF_RE = re.compile(r'href="(.*?)"')
PAGES = 12
MAX_CONNECTIONS = 3


# --- the site: generated pages linking to each other ---

def page_links(i):
    links = [str((i + 1) % PAGES), f"/page/{i * 5 % PAGES}"]
    if i % 2 == 0:
        links.append("https://example.com/about")
    if i == 0:
        links.append("/missing")
    return links


def page_html(i):
    items = "".join(f'<li><a href="{link}">{link}</a></li>\n' for link in page_links(i))
    filler = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n" * (i * 7)
    return (f"<!DOCTYPE html>\n<html><head><title>Page {i}</title></head><body>\n"
            f"<h1>Page {i}</h1>\n<ul>\n{items}</ul>\n{filler}</body></html>\n")


class HttpServer:
    """HTTP/1.1, GET only, one request per connection (Connection: close)."""

    def __init__(self):
        self.requests = 0
        self.open = 0
        self.peak = 0

    async def handle(self, reader, writer):
        self.open += 1
        self.peak = max(self.peak, self.open)
        try:
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
            method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
            m = re.fullmatch(r"/page/(\d+)", target)
            if method != "GET":
                status, body = "405 Method Not Allowed", "only GET\n"
            elif m and int(m.group(1)) < PAGES:
                status, body = "200 OK", page_html(int(m.group(1)))
            else:
                status, body = "404 Not Found", f"no page at {target}\n"
            data = body.encode()
            writer.write(f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
                         f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                         + data)
            await writer.drain()
            self.requests += 1
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
            pass  # not a request: close
        finally:
            self.open -= 1
            writer.close()
            await writer.wait_closed()


# --- the client: areq.py's functions, with a minimal HTTP client in place of aiohttp ---

class HttpError(Exception):
    pass


def split_url(url):
    m = re.fullmatch(r"http://([^/:]+):(\d+)(/.*)?", url)
    if not m:
        raise ValueError(f"unsupported URL: {url}")
    return m.group(1), int(m.group(2)), m.group(3) or "/"


def urljoin(base, link):
    """urllib.parse.urljoin for the links of this site: absolute, rooted or relative."""
    if "://" in link:
        return link
    host, port, path = split_url(base)
    if not link.startswith("/"):
        link = path[: path.rfind("/") + 1] + link
    return f"http://{host}:{port}{link}"


async def fetch_html(url, sem):
    host, port, path = split_url(url)
    # At most MAX_CONNECTIONS connections at once (aiohttp's connector limit).
    async with sem:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
                         "Connection: close\r\n\r\n".encode())
            head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
            status = head[0].split(" ", 2)
            length = None
            for line in head[1:]:
                name, _, value = line.partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length is not None:
                body = await reader.readexactly(length)
            else:
                body = await reader.read()
        finally:
            writer.close()
            await writer.wait_closed()
    if int(status[1]) >= 400:  # resp.raise_for_status()
        raise HttpError(f"{status[1]} {status[2]}")
    return body.decode()


async def parse(url, sem, errors):
    found = set()
    try:
        html = await fetch_html(url, sem)
    except (HttpError, OSError, asyncio.IncompleteReadError) as e:
        errors.append(f"{url}: {e}")
        return found
    for link in HREF_RE.findall(html):
        found.add(urljoin(url, link))
    return found


async def write_one(file, url, sem, errors):
    res = await parse(url, sem, errors)
    if not res:
        return
    with open(file, "a", encoding="utf-8") as f:  # areq.py: aiofiles
        for p in res:
            f.write(f"{url}\t{p}\n")


async def bulk_crawl_and_write(file, urls, sem, errors):
    await asyncio.gather(*(write_one(file, url, sem, errors) for url in urls))


# --- main ---

async def crawl():
    site = HttpServer()
    server = await asyncio.start_server(site.handle, "127.0.0.1", 0)
    base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    urls = [f"{base}/page/{i}" for i in range(PAGES)] + [f"{base}/missing"]
    errors = []
    with tempfile.TemporaryDirectory() as tmp:
        outpath = os.path.join(tmp, "foundurls.txt")
        with open(outpath, "w", encoding="utf-8") as outfile:
            outfile.write("source_url\tparsed_url\n")
        sem = asyncio.Semaphore(MAX_CONNECTIONS)
        await asyncio.wait_for(bulk_crawl_and_write(outpath, urls, sem, errors), 30)
        with open(outpath, encoding="utf-8") as f:
            header, *lines = f.read().splitlines()
    server.close()
    await server.wait_closed()
    print(f"crawled {len(urls)} URLs, at most {MAX_CONNECTIONS} connections at once")
    for e in sorted(errors):
        print("error:", e.replace(base, "{site}"))
    sources = {line.split("\t")[0] for line in lines}
    print(f"foundurls.txt: {len(lines)} links from {len(sources)} pages")
    print(header)
    for line in sorted(lines):
        print(line.replace(base, "{site}"))
    print(f"server: answered {site.requests} requests, "
          f"at most {MAX_CONNECTIONS} at once: {site.peak <= MAX_CONNECTIONS}")


async def serve(count):
    site = HttpServer()
    server = await asyncio.start_server(site.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    print(f"serving on http://127.0.0.1:{port}/page/0", flush=True)
    while site.requests < count or site.open:
        await asyncio.sleep(0.01)
    server.close()
    await server.wait_closed()
    print(f"served {site.requests} requests")


if __name__ == "__main__":
    if len(sys.argv) == 3 and sys.argv[1] == "--serve":
        asyncio.run(serve(int(sys.argv[2])))
    else:
        asyncio.run(crawl())
