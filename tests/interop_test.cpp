// SPDX-License-Identifier: MIT
// Interop with programs no one here wrote: CPython's own asyncio streams as client and as server
// (tests/py/interop_peer.py, run with a Python 3.11+), and socat half-closing a connection. A
// missing tool makes a test warn and return (scripts/test.sh installs them, so CI runs them).
// curl against the areq example's server is the CTest test asyncio.interop.curl_areq
// (tests/interop/curl_areq.sh).

#include "support/io_support.hpp"

#include <asyncio/asyncio.hpp>

#include <catch2/catch.hpp>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstddef>
#include <optional>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

extern char** environ; // NOLINT(readability-redundant-declaration): POSIX declares it nowhere

using namespace std::chrono_literals;
using asyncio::stream_reader;
using asyncio::stream_writer;
using asyncio::task;

namespace {

constexpr std::size_t blob_size = std::size_t{1} << 20;
constexpr auto peer_timeout = 20s;

std::string pattern(std::size_t n) {
    std::string s(n, '\0');
    for (std::size_t i = 0; i < n; ++i) {
        s[i] = static_cast<char>(i % 251);
    }
    return s;
}

/// A program started with posix_spawnp: its stdout and stderr on one pipe (read end `out`), its
/// stdin on another (write end `in`, closed by close_stdin). The destructor kills and reaps it if
/// it still runs, and closes both pipes.
struct child_process {
    pid_t pid = -1;
    int out = -1;
    int in = -1;
    std::optional<int> status;
    std::string output;

    child_process(const std::vector<std::string>& argv, const std::vector<std::string>& env_extra) {
        int o[2];
        int i[2];
        if (::pipe2(o, O_CLOEXEC) != 0) {
            throw std::runtime_error("pipe2 failed");
        }
        if (::pipe2(i, O_CLOEXEC) != 0) {
            ::close(o[0]);
            ::close(o[1]);
            throw std::runtime_error("pipe2 failed");
        }
        posix_spawn_file_actions_t fa;
        ::posix_spawn_file_actions_init(&fa);
        ::posix_spawn_file_actions_adddup2(&fa, i[0], 0);
        ::posix_spawn_file_actions_adddup2(&fa, o[1], 1);
        ::posix_spawn_file_actions_adddup2(&fa, o[1], 2);
        posix_spawnattr_t attr;
        ::posix_spawnattr_init(&attr);
        sigset_t none;
        sigset_t defaults;
        sigemptyset(&none);
        sigemptyset(&defaults);
        sigaddset(&defaults, SIGPIPE);
        ::posix_spawnattr_setsigmask(&attr, &none);
        ::posix_spawnattr_setsigdefault(&attr, &defaults);
        ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
        std::vector<char*> args;
        for (const std::string& a : argv) {
            args.push_back(const_cast<char*>(a.c_str()));
        }
        args.push_back(nullptr);
        std::vector<char*> env;
        for (char** e = environ; *e != nullptr; ++e) {
            env.push_back(*e);
        }
        for (const std::string& e : env_extra) {
            env.push_back(const_cast<char*>(e.c_str()));
        }
        env.push_back(nullptr);
        const int rc = ::posix_spawnp(&pid, args[0], &fa, &attr, args.data(), env.data());
        ::posix_spawn_file_actions_destroy(&fa);
        ::posix_spawnattr_destroy(&attr);
        ::close(o[1]);
        ::close(i[0]);
        out = o[0];
        in = i[1];
        if (rc != 0) {
            pid = -1;
            close_pipes();
            throw std::runtime_error("posix_spawnp " + argv[0] + " failed");
        }
        ::fcntl(out, F_SETFL, ::fcntl(out, F_GETFL) | O_NONBLOCK);
    }
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;
    ~child_process() {
        if (pid > 0 && !status) {
            ::kill(pid, SIGKILL);
            int st = 0;
            ::waitpid(pid, &st, 0);
        }
        close_pipes();
    }

    void close_pipes() noexcept {
        close_stdin();
        if (out >= 0) {
            ::close(std::exchange(out, -1));
        }
    }
    void close_stdin() noexcept {
        if (in >= 0) {
            ::close(std::exchange(in, -1));
        }
    }

    /// Appends what the pipe holds now to `output`, without blocking.
    void drain_output() {
        char buf[4096];
        ssize_t n = 0;
        while (out >= 0 && (n = ::read(out, buf, sizeof buf)) > 0) {
            output.append(buf, static_cast<std::size_t>(n));
        }
    }

    /// Reaps the process if it has exited (waitpid WNOHANG); true once it has.
    bool poll_exit() {
        drain_output();
        if (!status) {
            int st = 0;
            if (::waitpid(pid, &st, WNOHANG) == pid) {
                status = st;
                drain_output();
            }
        }
        return status.has_value();
    }

    /// Blocks (outside any loop) until the first line of output, for at most `limit`.
    std::string first_line(std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (output.find('\n') == std::string::npos &&
               std::chrono::steady_clock::now() < deadline) {
            pollfd p{out, POLLIN, 0};
            ::poll(&p, 1, 50);
            drain_output();
            if (p.revents & POLLHUP) {
                break;
            }
        }
        return output.substr(0, output.find('\n'));
    }

    /// Blocks (outside any loop) until the process exits, for at most `limit`; its exit code, or
    /// -1 (killed, or still running at the deadline: then it is killed by the destructor).
    int wait(std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!poll_exit() && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(10ms);
        }
        return exit_code();
    }

    /// In a loop: waits for the process to exit, for at most `limit`, polling every 10 ms.
    task<int> wait_async(std::chrono::milliseconds limit) {
        const auto deadline = std::chrono::steady_clock::now() + limit;
        while (!poll_exit() && std::chrono::steady_clock::now() < deadline) {
            co_await asyncio::sleep(10ms);
        }
        co_return exit_code();
    }

    [[nodiscard]] int exit_code() const {
        return status && WIFEXITED(*status) ? WEXITSTATUS(*status) : -1;
    }
};

/// Runs a command to its end (10 s at most) and gives its exit code, -1 if it could not start.
int run_quietly(const std::vector<std::string>& argv, const std::vector<std::string>& env) {
    try {
        child_process c(argv, env);
        c.close_stdin();
        return c.wait(10s);
    } catch (const std::runtime_error&) {
        return -1;
    }
}

struct python_command {
    std::vector<std::string> argv;
    std::vector<std::string> env;
    std::string describe;
};

/// A CPython 3.11+ (asyncio.timeout): python3.13, then pyenv's 3.13.0, then python3 when new
/// enough. Looked up once per process.
const std::optional<python_command>& find_python() {
    static const std::optional<python_command> found = [] {
        const std::vector<python_command> candidates{
            {{"python3.13"}, {}, "python3.13"},
            {{"python3"}, {"PYENV_VERSION=3.13.0"}, "PYENV_VERSION=3.13.0 python3"},
            {{"python3"}, {}, "python3"},
        };
        for (const python_command& c : candidates) {
            std::vector<std::string> argv = c.argv;
            argv.insert(argv.end(), {"-c", "import sys; sys.exit(sys.version_info < (3, 11))"});
            if (run_quietly(argv, c.env) == 0) {
                return std::optional<python_command>(c);
            }
        }
        return std::optional<python_command>();
    }();
    return found;
}

/// The full path of `name` on PATH, or empty.
std::string find_program(const std::string& name) {
    const char* path = ::getenv("PATH");
    std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
    std::size_t start = 0;
    while (start <= dirs.size()) {
        std::size_t end = dirs.find(':', start);
        if (end == std::string::npos) {
            end = dirs.size();
        }
        const std::string candidate = dirs.substr(start, end - start) + "/" + name;
        if (::access(candidate.c_str(), X_OK) == 0) {
            return candidate;
        }
        start = end + 1;
    }
    return {};
}

/// tests/py/interop_peer.py, found from this file's path.
std::string peer_script() {
    std::string here = __FILE__;
    return here.substr(0, here.rfind('/')) + "/py/interop_peer.py";
}

std::vector<std::string> peer_command(const python_command& py, std::vector<std::string> args) {
    std::vector<std::string> argv = py.argv;
    argv.insert(argv.end(), {"-B", peer_script()});
    argv.insert(argv.end(), args.begin(), args.end());
    return argv;
}

int port_of(const asyncio::server& s) {
    return s.sockets().at(0).getsockname().port();
}

std::size_t count(const std::string& text, const std::string& what) {
    std::size_t n = 0;
    for (std::size_t pos = text.find(what); pos != std::string::npos;
         pos = text.find(what, pos + 1)) {
        ++n;
    }
    return n;
}

/// Our side of interop_peer.py's exchange as the server (its handle()); the end-of-stream line
/// goes to `report`.
task<> serve_exchange(stream_reader r, stream_writer w, std::string* report) {
    std::size_t lines = 0;
    std::size_t total = 0;
    while (auto line = co_await r.next()) {
        ++lines;
        total += line->size();
        if (line->starts_with("blob ")) {
            const auto n = static_cast<std::size_t>(std::stoul(line->substr(5)));
            std::string data = co_await r.readexactly(static_cast<std::ptrdiff_t>(n));
            total += n;
            w.write("blob " + std::to_string(n) + "\n");
            w.write(data);
        } else {
            w.write("echo: " + *line);
        }
        co_await w.drain();
    }
    *report = "end of stream after " + std::to_string(lines) + " lines and " +
              std::to_string(total) + " bytes";
    w.write("bye after " + std::to_string(lines) + " lines and " + std::to_string(total) +
            " bytes\n");
    co_await w.drain();
    w.close();
    co_await w.wait_closed();
}

/// Our side of the exchange as the client (interop_peer.py's client()); each check's outcome is
/// appended to `log`.
task<> client_exchange(int port, std::vector<std::string>* log) {
    auto [r, w] = co_await asyncio::open_connection("127.0.0.1", port);
    const std::string data = pattern(blob_size);
    const std::string blob_line = "blob " + std::to_string(blob_size) + "\n";
    w.write("hello\n");
    w.write(blob_line);
    w.write(data);
    w.write("last line\n");
    // The echo of the blob comes back while it is still being sent: drain concurrently.
    auto sending = asyncio::create_task(w.drain());
    log->push_back(co_await r.readline());
    log->push_back(co_await r.readline());
    log->push_back(co_await r.readexactly(static_cast<std::ptrdiff_t>(blob_size)) == data
                       ? "blob bytes equal"
                       : "blob bytes differ");
    co_await sending;
    log->push_back(co_await r.readline());
    w.write_eof();
    log->push_back(co_await r.readline());
    const std::string rest = co_await r.read();
    log->push_back("rest " + std::to_string(rest.size()) + (r.at_eof() ? " at eof" : ""));
    w.close();
    co_await w.wait_closed();
}

std::string expected_total() {
    return std::to_string(6 + std::to_string(blob_size).size() + 6 + blob_size + 10);
}

} // namespace

TEST_CASE("interop: CPython's open_connection client exchanges lines, a 1 MiB blob and a "
          "half-close with our start_server",
          "[io][interop]") {
    const auto& py = find_python();
    if (!py) {
        WARN("no CPython 3.11+ (python3.13, PYENV_VERSION=3.13.0 python3, python3): not tested");
        return;
    }
    INFO("python: " << py->describe);
    const int fds_before = asyncio::testing::open_fd_count();
    std::string report;
    int exit_code = -2;
    std::string output;
    asyncio::run([&]() -> task<> {
        asyncio::server srv = co_await asyncio::start_server(
            [&](stream_reader r, stream_writer w) { return serve_exchange(r, w, &report); },
            "127.0.0.1", 0);
        child_process peer(peer_command(*py, {"client", std::to_string(port_of(srv))}), py->env);
        peer.close_stdin();
        exit_code = co_await peer.wait_async(2 * peer_timeout);
        output = peer.output;
        srv.close();
        co_await asyncio::wait_for(srv.wait_closed(), 5s);
    }());
    INFO("the CPython client printed:\n" << output);
    CHECK(exit_code == 0);
    CHECK(count(output, "ok: ") == 6);
    CHECK(count(output, "FAILED") == 0);
    CHECK(report == "end of stream after 3 lines and " + expected_total() + " bytes");
    CHECK(asyncio::testing::open_fd_count() == fds_before);
}

TEST_CASE("interop: our open_connection client exchanges lines, a 1 MiB blob and a half-close "
          "with CPython's start_server",
          "[io][interop]") {
    const auto& py = find_python();
    if (!py) {
        WARN("no CPython 3.11+ (python3.13, PYENV_VERSION=3.13.0 python3, python3): not tested");
        return;
    }
    INFO("python: " << py->describe);
    const int fds_before = asyncio::testing::open_fd_count();
    std::vector<std::string> log;
    int exit_code = -2;
    std::string output;
    {
        child_process peer(peer_command(*py, {"server"}), py->env);
        peer.close_stdin();
        const std::string first = peer.first_line(peer_timeout);
        INFO("the CPython server printed:\n" << peer.output);
        REQUIRE(first.starts_with("PORT "));
        const int port = std::stoi(first.substr(5));
        asyncio::run([&]() -> task<> {
            co_await asyncio::wait_for(client_exchange(port, &log), peer_timeout);
        }());
        exit_code = peer.wait(peer_timeout);
        output = peer.output;
    }
    INFO("the CPython server printed:\n" << output);
    CHECK(exit_code == 0);
    CHECK(log == std::vector<std::string>{
                     "echo: hello\n", "blob 1048576\n", "blob bytes equal", "echo: last line\n",
                     "bye after 3 lines and " + expected_total() + " bytes\n", "rest 0 at eof"});
    CHECK(count(output, "server: end of stream after 3 lines and " + expected_total() + " bytes") ==
          1);
    CHECK(asyncio::testing::open_fd_count() == fds_before);
}

TEST_CASE("interop: socat half-closes its side, our reader sees EOF and our writer still reaches "
          "socat",
          "[io][interop]") {
    const std::string socat = find_program("socat");
    if (socat.empty()) {
        WARN("socat is not installed (bash scripts/deps.sh socat): not tested");
        return;
    }
    const int fds_before = asyncio::testing::open_fd_count();
    std::string seen;
    bool eof_seen = false;
    int exit_code = -2;
    std::string output;
    asyncio::run([&]() -> task<> {
        auto handler = [&](stream_reader r, stream_writer w) -> task<> {
            seen = co_await asyncio::wait_for(r.read(), peer_timeout); // to the end of the stream
            eof_seen = r.at_eof();
            w.write("got " + std::to_string(seen.size()) + " bytes, then EOF\n");
            w.write("still writing after the peer's EOF\n");
            co_await w.drain();
            w.close();
            co_await w.wait_closed();
        };
        asyncio::server srv = co_await asyncio::start_server(handler, "127.0.0.1", 0);
        // socat copies its stdin to the socket; at the end of stdin it shuts the socket down for
        // writing (a half-close) and, for at most -t seconds, copies the socket to its stdout.
        child_process peer(
            {socat, "-t", "20", "STDIO", "TCP:127.0.0.1:" + std::to_string(port_of(srv))}, {});
        const std::string input = "ping\npong\n";
        REQUIRE(::write(peer.in, input.data(), input.size()) == static_cast<ssize_t>(input.size()));
        peer.close_stdin();
        exit_code = co_await peer.wait_async(2 * peer_timeout);
        output = peer.output;
        srv.close();
        co_await asyncio::wait_for(srv.wait_closed(), 5s);
    }());
    CHECK(seen == "ping\npong\n");
    CHECK(eof_seen);
    CHECK(exit_code == 0);
    CHECK(output == "got 10 bytes, then EOF\nstill writing after the peer's EOF\n");
    CHECK(asyncio::testing::open_fd_count() == fds_before);
}
