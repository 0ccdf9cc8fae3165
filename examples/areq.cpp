// SPDX-License-Identifier: MIT
// areq: a port of areq.py from Real Python's "Async IO in Python: A Complete Walkthrough": fetch
// many URLs concurrently with a bounded number of connections (a semaphore), extract the links
// with a regular expression, and write "source<TAB>link" lines to a file. There is no aiohttp
// here, so the program carries a minimal HTTP/1.1 client over open_connection (GET,
// Content-Length, Connection: close) and a small HTTP/1.1 server over start_server, which it
// starts on 127.0.0.1 (a free port) serving generated pages that link to each other.
//
//   areq                crawl the generated site; print the found links, sorted, and a summary
//   areq --serve N      only serve (the port is printed) until N requests were answered: the
//                       interop test fetches pages with curl
//
// The Python twin, examples/py/areq.py (the CTest tests check that both print
// examples/areq.expected; areq.py's aiofiles write is a plain file write here, and its logging is
// left out, its order depending on timing):
//
//     import asyncio
//     import os
//     import re
//     import sys
//     import tempfile
//
//     HREF_RE = re.compile(r'href="(.*?)"')
//     PAGES = 12
//     MAX_CONNECTIONS = 3
//
//
//     # --- the site: generated pages linking to each other ---
//
//     def page_links(i):
//         links = [str((i + 1) % PAGES), f"/page/{i * 5 % PAGES}"]
//         if i % 2 == 0:
//             links.append("https://example.com/about")
//         if i == 0:
//             links.append("/missing")
//         return links
//
//
//     def page_html(i):
//         items = "".join(f'<li><a href="{link}">{link}</a></li>\n' for link in page_links(i))
//         filler = "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n" * (i * 7)
//         return (f"<!DOCTYPE html>\n<html><head><title>Page {i}</title></head><body>\n"
//                 f"<h1>Page {i}</h1>\n<ul>\n{items}</ul>\n{filler}</body></html>\n")
//
//
//     class HttpServer:
//         """HTTP/1.1, GET only, one request per connection (Connection: close)."""
//
//         def __init__(self):
//             self.requests = 0
//             self.open = 0
//             self.peak = 0
//
//         async def handle(self, reader, writer):
//             self.open += 1
//             self.peak = max(self.peak, self.open)
//             try:
//                 head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
//                 method, target, _ = head.split("\r\n", 1)[0].split(" ", 2)
//                 m = re.fullmatch(r"/page/(\d+)", target)
//                 if method != "GET":
//                     status, body = "405 Method Not Allowed", "only GET\n"
//                 elif m and int(m.group(1)) < PAGES:
//                     status, body = "200 OK", page_html(int(m.group(1)))
//                 else:
//                     status, body = "404 Not Found", f"no page at {target}\n"
//                 data = body.encode()
//                 writer.write(f"HTTP/1.1 {status}\r\nContent-Type: text/html; charset=utf-8\r\n"
//                              f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
//                              + data)
//                 await writer.drain()
//                 self.requests += 1
//             except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ValueError):
//                 pass  # not a request: close
//             finally:
//                 self.open -= 1
//                 writer.close()
//                 await writer.wait_closed()
//
//
//     # --- the client: areq.py's functions, with a minimal HTTP client in place of aiohttp ---
//
//     class HttpError(Exception):
//         pass
//
//
//     def split_url(url):
//         m = re.fullmatch(r"http://([^/:]+):(\d+)(/.*)?", url)
//         if not m:
//             raise ValueError(f"unsupported URL: {url}")
//         return m.group(1), int(m.group(2)), m.group(3) or "/"
//
//
//     def urljoin(base, link):
//         """urllib.parse.urljoin for the links of this site: absolute, rooted or relative."""
//         if "://" in link:
//             return link
//         host, port, path = split_url(base)
//         if not link.startswith("/"):
//             link = path[: path.rfind("/") + 1] + link
//         return f"http://{host}:{port}{link}"
//
//
//     async def fetch_html(url, sem):
//         host, port, path = split_url(url)
//         # At most MAX_CONNECTIONS connections at once (aiohttp's connector limit).
//         async with sem:
//             reader, writer = await asyncio.open_connection(host, port)
//             try:
//                 writer.write(f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
//                              "Connection: close\r\n\r\n".encode())
//                 head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1").split("\r\n")
//                 status = head[0].split(" ", 2)
//                 length = None
//                 for line in head[1:]:
//                     name, _, value = line.partition(":")
//                     if name.strip().lower() == "content-length":
//                         length = int(value)
//                 if length is not None:
//                     body = await reader.readexactly(length)
//                 else:
//                     body = await reader.read()
//             finally:
//                 writer.close()
//                 await writer.wait_closed()
//         if int(status[1]) >= 400:  # resp.raise_for_status()
//             raise HttpError(f"{status[1]} {status[2]}")
//         return body.decode()
//
//
//     async def parse(url, sem, errors):
//         found = set()
//         try:
//             html = await fetch_html(url, sem)
//         except (HttpError, OSError, asyncio.IncompleteReadError) as e:
//             errors.append(f"{url}: {e}")
//             return found
//         for link in HREF_RE.findall(html):
//             found.add(urljoin(url, link))
//         return found
//
//
//     async def write_one(file, url, sem, errors):
//         res = await parse(url, sem, errors)
//         if not res:
//             return
//         with open(file, "a", encoding="utf-8") as f:  # areq.py: aiofiles
//             for p in res:
//                 f.write(f"{url}\t{p}\n")
//
//
//     async def bulk_crawl_and_write(file, urls, sem, errors):
//         await asyncio.gather(*(write_one(file, url, sem, errors) for url in urls))
//
//
//     # --- main ---
//
//     async def crawl():
//         site = HttpServer()
//         server = await asyncio.start_server(site.handle, "127.0.0.1", 0)
//         base = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
//         urls = [f"{base}/page/{i}" for i in range(PAGES)] + [f"{base}/missing"]
//         errors = []
//         with tempfile.TemporaryDirectory() as tmp:
//             outpath = os.path.join(tmp, "foundurls.txt")
//             with open(outpath, "w", encoding="utf-8") as outfile:
//                 outfile.write("source_url\tparsed_url\n")
//             sem = asyncio.Semaphore(MAX_CONNECTIONS)
//             await asyncio.wait_for(bulk_crawl_and_write(outpath, urls, sem, errors), 30)
//             with open(outpath, encoding="utf-8") as f:
//                 header, *lines = f.read().splitlines()
//         server.close()
//         await server.wait_closed()
//         print(f"crawled {len(urls)} URLs, at most {MAX_CONNECTIONS} connections at once")
//         for e in sorted(errors):
//             print("error:", e.replace(base, "{site}"))
//         sources = {line.split("\t")[0] for line in lines}
//         print(f"foundurls.txt: {len(lines)} links from {len(sources)} pages")
//         print(header)
//         for line in sorted(lines):
//             print(line.replace(base, "{site}"))
//         print(f"server: answered {site.requests} requests, "
//               f"at most {MAX_CONNECTIONS} at once: {site.peak <= MAX_CONNECTIONS}")
//
//
//     async def serve(count):
//         site = HttpServer()
//         server = await asyncio.start_server(site.handle, "127.0.0.1", 0)
//         port = server.sockets[0].getsockname()[1]
//         print(f"serving on http://127.0.0.1:{port}/page/0", flush=True)
//         while site.requests < count or site.open:
//             await asyncio.sleep(0.01)
//         server.close()
//         await server.wait_closed()
//         print(f"served {site.requests} requests")
//
//
//     if __name__ == "__main__":
//         if len(sys.argv) == 3 and sys.argv[1] == "--serve":
//             asyncio.run(serve(int(sys.argv[2])))
//         else:
//             asyncio.run(crawl())
#include <asyncio/asyncio.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <filesystem>
#include <fstream>
#include <optional>
#include <regex>
#include <set>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

const std::regex href_re(R"re(href="(.*?)")re");
constexpr int pages = 12;
constexpr int max_connections = 3;

// --- the site: generated pages linking to each other ------------------------------------------

std::vector<std::string> page_links(int i) {
    std::vector<std::string> links{std::to_string((i + 1) % pages),
                                   "/page/" + std::to_string(i * 5 % pages)};
    if (i % 2 == 0) {
        links.emplace_back("https://example.com/about");
    }
    if (i == 0) {
        links.emplace_back("/missing");
    }
    return links;
}

std::string page_html(int i) {
    const std::string n = std::to_string(i);
    std::string html = "<!DOCTYPE html>\n<html><head><title>Page " + n +
                       "</title></head><body>\n<h1>Page " + n + "</h1>\n<ul>\n";
    for (const std::string& link : page_links(i)) {
        html += "<li><a href=\"" + link + "\">" + link + "</a></li>\n";
    }
    html += "</ul>\n";
    for (int k = 0; k < i * 7; ++k) {
        html += "<p>Lorem ipsum dolor sit amet, consectetur adipiscing elit.</p>\n";
    }
    return html + "</body></html>\n";
}

/// HTTP/1.1, GET only, one request per connection (Connection: close).
struct http_server {
    int requests = 0;
    int open = 0;
    int peak = 0;

    static std::string respond(const std::string& head) {
        // "GET /page/3 HTTP/1.1": method, target, version (Python's split(" ", 2) unpacking).
        const std::string first = head.substr(0, head.find("\r\n"));
        const auto sp1 = first.find(' ');
        const auto sp2 = sp1 == std::string::npos ? sp1 : first.find(' ', sp1 + 1);
        if (sp2 == std::string::npos) {
            throw std::invalid_argument("not a request line");
        }
        const std::string method = first.substr(0, sp1);
        const std::string target = first.substr(sp1 + 1, sp2 - sp1 - 1);
        static const std::regex page_re(R"(/page/(\d+))");
        std::smatch m;
        std::string status;
        std::string body;
        if (method != "GET") {
            status = "405 Method Not Allowed";
            body = "only GET\n";
        } else if (std::regex_match(target, m, page_re) && m[1].length() < 9 &&
                   std::stoi(m[1].str()) < pages) {
            status = "200 OK";
            body = page_html(std::stoi(m[1].str()));
        } else {
            status = "404 Not Found";
            body = "no page at " + target + "\n";
        }
        return "HTTP/1.1 " + status +
               "\r\nContent-Type: text/html; charset=utf-8\r\nContent-Length: " +
               std::to_string(body.size()) + "\r\nConnection: close\r\n\r\n" + body;
    }

    asyncio::task<> handle(asyncio::stream_reader reader, asyncio::stream_writer writer) {
        ++open;
        peak = std::max(peak, open);
        try {
            const std::string head = co_await reader.readuntil("\r\n\r\n");
            writer.write(respond(head));
            co_await writer.drain();
            ++requests;
        } catch (const asyncio::incomplete_read_error&) { // not a request: close
        } catch (const asyncio::limit_overrun_error&) {
        } catch (const std::invalid_argument&) {
        }
        --open;
        writer.close();
        co_await writer.wait_closed();
    }
};

// --- the client: areq.py's functions, with a minimal HTTP client in place of aiohttp ------------

struct http_error : std::runtime_error {
    using std::runtime_error::runtime_error;
};

struct url_parts {
    std::string host;
    int port = 0;
    std::string path;
};

url_parts split_url(const std::string& url) {
    static const std::regex url_re(R"(http://([^/:]+):(\d+)(/.*)?)");
    std::smatch m;
    if (!std::regex_match(url, m, url_re) || m[2].length() > 5) {
        throw std::invalid_argument("unsupported URL: " + url);
    }
    return {m[1].str(), std::stoi(m[2].str()), m[3].matched ? m[3].str() : "/"};
}

/// urllib.parse.urljoin for the links of this site: absolute, rooted or relative.
std::string urljoin(const std::string& base, std::string link) {
    if (link.find("://") != std::string::npos) {
        return link;
    }
    const url_parts b = split_url(base);
    if (link.empty() || link[0] != '/') {
        link = b.path.substr(0, b.path.rfind('/') + 1) + link;
    }
    return "http://" + b.host + ":" + std::to_string(b.port) + link;
}

std::string lower(std::string s) {
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) {
        return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
    });
    return s;
}

asyncio::task<std::string> fetch_html(std::string url, asyncio::semaphore* sem) {
    const url_parts u = split_url(url);
    std::string status_line;
    std::string body;
    {
        // At most max_connections connections at once (aiohttp's connector limit).
        auto held = co_await sem->acquire_guard();
        auto [reader, writer] = co_await asyncio::open_connection(u.host, u.port);
        // Python's try/finally: the connection is closed whatever happens.
        std::exception_ptr failed;
        try {
            writer.write("GET " + u.path + " HTTP/1.1\r\nHost: " + u.host + ":" +
                         std::to_string(u.port) + "\r\nConnection: close\r\n\r\n");
            const std::string head = co_await reader.readuntil("\r\n\r\n");
            std::optional<std::size_t> length;
            std::size_t pos = head.find("\r\n");
            status_line = head.substr(0, pos);
            while (pos + 2 < head.size()) {
                const std::size_t end = head.find("\r\n", pos + 2);
                const std::string line = head.substr(pos + 2, end - pos - 2);
                const std::size_t colon = line.find(':');
                if (colon != std::string::npos &&
                    lower(line.substr(0, colon)).find("content-length") != std::string::npos) {
                    length = std::stoul(line.substr(colon + 1));
                }
                pos = end;
            }
            // An if, not `length ? co_await ... : co_await ...`: g++ 12 destroys the result of
            // such a conditional twice (a double free seen under AddressSanitizer).
            if (length) {
                body = co_await reader.readexactly(static_cast<std::ptrdiff_t>(*length));
            } else {
                body = co_await reader.read();
            }
        } catch (...) {
            failed = std::current_exception();
        }
        writer.close();
        co_await writer.wait_closed();
        if (failed) {
            std::rethrow_exception(failed);
        }
    }
    // resp.raise_for_status(): "HTTP/1.1 404 Not Found" -> "404 Not Found".
    const std::string status = status_line.substr(status_line.find(' ') + 1);
    if (std::stoi(status) >= 400) {
        throw http_error(status);
    }
    co_return body;
}

asyncio::task<std::set<std::string>> parse(std::string url, asyncio::semaphore* sem,
                                           std::vector<std::string>* errors) {
    std::set<std::string> found;
    std::string html;
    try {
        html = co_await fetch_html(url, sem);
    } catch (const http_error& e) {
        errors->push_back(url + ": " + e.what());
        co_return found;
    } catch (const std::system_error& e) { // OSError
        errors->push_back(url + ": " + e.what());
        co_return found;
    } catch (const asyncio::incomplete_read_error& e) {
        errors->push_back(url + ": " + e.what());
        co_return found;
    }
    for (auto it = std::sregex_iterator(html.begin(), html.end(), href_re);
         it != std::sregex_iterator(); ++it) {
        found.insert(urljoin(url, (*it)[1].str()));
    }
    co_return found;
}

asyncio::task<> write_one(std::string file, std::string url, asyncio::semaphore* sem,
                          std::vector<std::string>* errors) {
    const std::set<std::string> res = co_await parse(url, sem, errors);
    if (res.empty()) {
        co_return;
    }
    std::ofstream f(file, std::ios::app); // areq.py: aiofiles
    for (const std::string& p : res) {
        f << url << '\t' << p << '\n';
    }
}

asyncio::task<> bulk_crawl_and_write(std::string file, std::vector<std::string> urls,
                                     asyncio::semaphore* sem, std::vector<std::string>* errors) {
    std::vector<asyncio::task<>> tasks;
    tasks.reserve(urls.size());
    for (const std::string& url : urls) {
        tasks.push_back(write_one(file, url, sem, errors));
    }
    co_await asyncio::gather(std::move(tasks));
}

// --- main --------------------------------------------------------------------------------------

std::string replaced(std::string s, const std::string& from, const std::string& to) {
    for (std::size_t pos = s.find(from); pos != std::string::npos;
         pos = s.find(from, pos + to.size())) {
        s.replace(pos, from.size(), to);
    }
    return s;
}

/// tempfile.TemporaryDirectory: a fresh directory, removed with its content at scope exit.
struct temp_dir {
    std::filesystem::path path;
    temp_dir() {
        std::string tmpl = (std::filesystem::temp_directory_path() / "areq-XXXXXX").string();
        if (::mkdtemp(tmpl.data()) == nullptr) {
            throw std::system_error(errno, std::generic_category(), "mkdtemp");
        }
        path = tmpl;
    }
    temp_dir(const temp_dir&) = delete;
    temp_dir& operator=(const temp_dir&) = delete;
    ~temp_dir() {
        std::error_code ignored;
        std::filesystem::remove_all(path, ignored);
    }
};

asyncio::task<> crawl() {
    http_server site;
    asyncio::server server = co_await asyncio::start_server(
        [&site](asyncio::stream_reader r, asyncio::stream_writer w) {
            return site.handle(std::move(r), std::move(w));
        },
        "127.0.0.1", 0);
    const std::string base =
        "http://127.0.0.1:" + std::to_string(server.sockets().at(0).getsockname().port());
    std::vector<std::string> urls;
    urls.reserve(pages + 1);
    for (int i = 0; i < pages; ++i) {
        urls.push_back(base + "/page/" + std::to_string(i));
    }
    urls.push_back(base + "/missing");
    std::vector<std::string> errors;
    std::string header;
    std::vector<std::string> lines;
    {
        const temp_dir tmp;
        const std::string outpath = (tmp.path / "foundurls.txt").string();
        std::ofstream(outpath) << "source_url\tparsed_url\n";
        asyncio::semaphore sem(max_connections);
        co_await asyncio::wait_for(bulk_crawl_and_write(outpath, urls, &sem, &errors), 30s);
        std::ifstream in(outpath);
        std::getline(in, header);
        for (std::string line; std::getline(in, line);) {
            lines.push_back(line);
        }
    }
    server.close();
    co_await server.wait_closed();
    std::printf("crawled %zu URLs, at most %d connections at once\n", urls.size(), max_connections);
    std::ranges::sort(errors);
    for (const std::string& e : errors) {
        std::printf("error: %s\n", replaced(e, base, "{site}").c_str());
    }
    std::set<std::string> sources;
    for (const std::string& line : lines) {
        sources.insert(line.substr(0, line.find('\t')));
    }
    std::printf("foundurls.txt: %zu links from %zu pages\n", lines.size(), sources.size());
    std::printf("%s\n", header.c_str());
    std::ranges::sort(lines);
    for (const std::string& line : lines) {
        std::printf("%s\n", replaced(line, base, "{site}").c_str());
    }
    std::printf("server: answered %d requests, at most %d at once: %s\n", site.requests,
                max_connections, site.peak <= max_connections ? "True" : "False");
}

asyncio::task<> serve(int count) {
    http_server site;
    asyncio::server server = co_await asyncio::start_server(
        [&site](asyncio::stream_reader r, asyncio::stream_writer w) {
            return site.handle(std::move(r), std::move(w));
        },
        "127.0.0.1", 0);
    std::printf("serving on http://127.0.0.1:%d/page/0\n",
                server.sockets().at(0).getsockname().port());
    std::fflush(stdout);
    while (site.requests < count || site.open > 0) {
        co_await asyncio::sleep(10ms);
    }
    server.close();
    co_await server.wait_closed();
    std::printf("served %d requests\n", site.requests);
}

} // namespace

int main(int argc, char** argv) {
    try {
        if (argc == 3 && std::strcmp(argv[1], "--serve") == 0) {
            asyncio::run(serve(std::stoi(argv[2])));
        } else if (argc == 1) {
            asyncio::run(crawl());
        } else {
            std::fprintf(stderr, "usage: areq [--serve N]\n");
            return 2;
        }
    } catch (const std::exception& e) {
        std::fprintf(stderr, "areq: %s\n", e.what());
        return 1;
    }
    return 0;
}
