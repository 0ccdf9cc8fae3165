// SPDX-License-Identifier: MIT
// The load generator of bench/peers/echo_compare.sh: plain C++ over raw epoll and non-blocking
// sockets (none of the runtimes it measures), talking to an echo server on 127.0.0.1.
//
//   g++ -O2 -std=c++20 bench/peers/echo_load.cpp -o echo_load
//   ./echo_load --port P --conns C --size S [--warmup SEC] [--duration SEC] [--max-requests N]
//               [--server-pid PID] [--label NAME]
//   ./echo_load --port P --idle N --server-pid PID [--label NAME]
//
// Load mode: C connections, a closed loop with one message in flight per connection. A request is
// one message of S bytes (deterministic pseudo-random content, different for every request) sent
// whole and echoed back whole; every byte received is compared with what was sent. After
// --warmup seconds (default 1) comes the measured phase, which ends after --duration seconds
// (default 3) or --max-requests completed requests (default 20,000,000), whichever comes first;
// then no new request starts, the ones in flight finish and every connection is closed (so the
// server sees a clean end of stream). Prints one line:
//   echo-load server=NAME size=S conns=C requests=N seconds=T rps=R p50_us=A p99_us=B
//     server_cpu_s=X cpu_us_per_req=Y sched_us_per_req=Z load1=L
// requests counts the requests completed within the measured phase, each timed from its first
// send to its last byte received (p50/p99); server_cpu_s is the server's utime + stime from
// /proc/PID/stat (clock ticks, 10 ms) over the measured phase, cpu_us_per_req that over
// requests; sched_us_per_req is the same from the scheduler's nanosecond run times
// (/proc/PID/task/*/schedstat), a cross-check. Without --server-pid the CPU keys are "-".
//
// Idle mode (--idle N): first one connection echoes one byte and closes (so lazily allocated
// buffers are in place), then the server's VmRSS is read; then N connections are opened in waves
// of 100, each echoing one byte (the server has accepted it and waits in its read), VmRSS is read
// again 200 ms later and everything is closed. Raises RLIMIT_NOFILE to N + 64 first; when it
// cannot, prints `echo-idle server=NAME SKIP ...` and exits with 77. Prints one line:
//   echo-idle server=NAME conns=N rss_before_kb=A rss_after_kb=B bytes_per_conn=X
//
// Exit status 1 (with a message on stderr) on any mismatch, unexpected end of stream, error or
// stall (no request completing for 10 s).
#include <arpa/inet.h>
#include <dirent.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fstream>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

namespace {

constexpr std::size_t pattern_spread = 65536; // start offsets of messages within the pattern
constexpr std::int64_t stall_ns = 10'000'000'000;
constexpr std::size_t wave = 100;

[[noreturn]] void fail(const std::string& what) {
    std::fprintf(stderr, "echo_load: %s\n", what.c_str());
    std::exit(1);
}

[[noreturn]] void fail_errno(const std::string& what) {
    fail(what + ": " + std::strerror(errno));
}

std::int64_t now_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<std::int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

struct options {
    int port = 0;
    std::size_t conns = 1;
    std::size_t size = 64;
    double warmup_s = 1.0;
    double duration_s = 3.0;
    std::uint64_t max_requests = 20'000'000;
    long server_pid = 0;
    std::size_t idle = 0;
    std::string label = "?";
};

// utime + stime of a process, in seconds (/proc/PID/stat, fields 14 and 15); -1 when unreadable.
double process_cpu_s(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
    std::string all((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    const auto paren = all.rfind(')');
    if (paren == std::string::npos) {
        return -1;
    }
    std::istringstream rest(all.substr(paren + 1));
    std::string field;
    unsigned long long utime = 0;
    unsigned long long stime = 0;
    for (int i = 3; i <= 15 && rest >> field; ++i) { // field 3 (state) comes first
        if (i == 14) {
            utime = std::stoull(field);
        } else if (i == 15) {
            stime = std::stoull(field);
        }
    }
    return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

// The run time of every thread of a process, in seconds (/proc/PID/task/*/schedstat, first
// field, nanoseconds); -1 when unreadable. Threads that ended are not counted.
double process_sched_s(long pid) {
    const std::string dir = "/proc/" + std::to_string(pid) + "/task";
    DIR* d = opendir(dir.c_str());
    if (d == nullptr) {
        return -1;
    }
    unsigned long long total = 0;
    while (dirent* e = readdir(d)) {
        if (e->d_name[0] == '.') {
            continue;
        }
        std::ifstream in(dir + "/" + e->d_name + "/schedstat");
        unsigned long long ns = 0;
        if (in >> ns) {
            total += ns;
        }
    }
    closedir(d);
    return static_cast<double>(total) * 1e-9;
}

// VmRSS of a process in KiB; -1 when unreadable.
long process_rss_kb(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/status");
    std::string line;
    while (std::getline(in, line)) {
        if (line.rfind("VmRSS:", 0) == 0) {
            return std::strtol(line.c_str() + 6, nullptr, 10);
        }
    }
    return -1;
}

double load1() {
    std::ifstream in("/proc/loadavg");
    double v = -1;
    in >> v;
    return v;
}

// Opens `n` connections to 127.0.0.1:port (non-blocking connect, all at once, then waits until
// each is connected) with TCP_NODELAY; returns their descriptors, still non-blocking.
std::vector<int> connect_all(int port, std::size_t n) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(static_cast<std::uint16_t>(port));
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) {
        fail_errno("epoll_create1");
    }
    std::vector<int> fds;
    std::size_t pending = 0;
    for (std::size_t i = 0; i < n; ++i) {
        const int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        if (fd < 0) {
            fail_errno("socket");
        }
        const int one = 1;
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
        fds.push_back(fd);
        if (connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) == 0) {
            continue;
        }
        if (errno != EINPROGRESS) {
            fail_errno("connect to 127.0.0.1:" + std::to_string(port));
        }
        epoll_event ev{};
        ev.events = EPOLLOUT;
        ev.data.fd = fd;
        if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) < 0) {
            fail_errno("epoll_ctl");
        }
        ++pending;
    }
    const std::int64_t deadline = now_ns() + stall_ns;
    epoll_event events[64];
    while (pending > 0) {
        if (now_ns() > deadline) {
            fail("connect: timed out");
        }
        const int k = epoll_wait(ep, events, 64, 100);
        for (int i = 0; i < k; ++i) {
            const int fd = events[i].data.fd;
            int err = 0;
            socklen_t len = sizeof err;
            getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
            if (err != 0) {
                errno = err;
                fail_errno("connect to 127.0.0.1:" + std::to_string(port));
            }
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
            --pending;
        }
    }
    close(ep);
    return fds;
}

// Sends one byte on each connection and waits for each to come back.
void echo_one_byte(const std::vector<int>& fds) {
    const int ep = epoll_create1(EPOLL_CLOEXEC);
    for (const int fd : fds) {
        const char b = 'x';
        if (send(fd, &b, 1, MSG_NOSIGNAL) != 1) {
            fail_errno("send");
        }
        epoll_event ev{};
        ev.events = EPOLLIN;
        ev.data.fd = fd;
        epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
    }
    std::size_t pending = fds.size();
    const std::int64_t deadline = now_ns() + stall_ns;
    epoll_event events[64];
    while (pending > 0) {
        if (now_ns() > deadline) {
            fail("idle: echoes did not come back within 10 s (the server's descriptor limit?)");
        }
        const int k = epoll_wait(ep, events, 64, 100);
        for (int i = 0; i < k; ++i) {
            const int fd = events[i].data.fd;
            char b = 0;
            const auto r = recv(fd, &b, 1, 0);
            if (r != 1 || b != 'x') {
                fail(r == 0 ? "idle: the server closed a connection" : "idle: a wrong echo");
            }
            epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
            --pending;
        }
    }
    close(ep);
}

int run_idle(const options& o) {
    const rlim_t need = static_cast<rlim_t>(o.idle) + 64;
    rlimit lim{};
    getrlimit(RLIMIT_NOFILE, &lim);
    if (lim.rlim_cur < need) {
        rlimit want{need, std::max(lim.rlim_max, need)};
        if (setrlimit(RLIMIT_NOFILE, &want) != 0) {
            std::printf("echo-idle server=%s SKIP RLIMIT_NOFILE cannot reach %llu (hard limit "
                        "%llu)\n",
                        o.label.c_str(), static_cast<unsigned long long>(need),
                        static_cast<unsigned long long>(lim.rlim_max));
            return 77;
        }
    }
    for (const int fd : [&] {
             std::vector<int> first = connect_all(o.port, 1);
             echo_one_byte(first);
             return first;
         }()) {
        close(fd);
    }
    usleep(200'000);
    const long before = process_rss_kb(o.server_pid);
    std::vector<int> all;
    all.reserve(o.idle);
    for (std::size_t done = 0; done < o.idle; done += wave) {
        const std::vector<int> fds = connect_all(o.port, std::min(wave, o.idle - done));
        echo_one_byte(fds);
        all.insert(all.end(), fds.begin(), fds.end());
    }
    usleep(200'000);
    const long after = process_rss_kb(o.server_pid);
    if (before < 0 || after < 0) {
        fail("cannot read VmRSS of pid " + std::to_string(o.server_pid));
    }
    for (const int fd : all) {
        close(fd);
    }
    std::printf("echo-idle server=%s conns=%zu rss_before_kb=%ld rss_after_kb=%ld "
                "bytes_per_conn=%.0f\n",
                o.label.c_str(), o.idle, before, after,
                static_cast<double>(after - before) * 1024.0 / static_cast<double>(o.idle));
    return 0;
}

// One connection of the closed loop.
struct conn {
    int fd = -1;
    std::uint64_t index = 0;    // which connection (part of the content's seed)
    std::uint64_t requests = 0; // requests started on it
    const char* msg = nullptr;  // the message of the request in flight
    std::size_t sent = 0;
    std::size_t received = 0;
    std::int64_t started_ns = 0;
    bool want_out = false;
    bool open = true;
};

class load {
public:
    explicit load(const options& o) : o_(o), scratch_(std::max<std::size_t>(o.size, 1)) {
        // xorshift64*: a fixed pattern, messages start at varying offsets into it.
        pattern_.resize(o.size + pattern_spread);
        std::uint64_t x = 0x9E3779B97F4A7C15ULL;
        for (char& c : pattern_) {
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            c = static_cast<char>((x * 0x2545F4914F6CDD1DULL) >> 56);
        }
    }

    int run() {
        ep_ = epoll_create1(EPOLL_CLOEXEC);
        if (ep_ < 0) {
            fail_errno("epoll_create1");
        }
        const std::vector<int> fds = connect_all(o_.port, o_.conns);
        conns_.resize(fds.size());
        open_ = conns_.size();
        for (std::size_t i = 0; i < fds.size(); ++i) {
            conn& c = conns_[i];
            c.fd = fds[i];
            c.index = i;
            epoll_event ev{};
            ev.events = EPOLLIN;
            ev.data.u64 = i;
            if (epoll_ctl(ep_, EPOLL_CTL_ADD, c.fd, &ev) < 0) {
                fail_errno("epoll_ctl");
            }
        }
        const std::int64_t t0 = now_ns();
        warmup_end_ = t0 + static_cast<std::int64_t>(o_.warmup_s * 1e9);
        measure_end_ = warmup_end_ + static_cast<std::int64_t>(o_.duration_s * 1e9);
        latencies_.reserve(
            static_cast<std::size_t>(std::min<std::uint64_t>(o_.max_requests, 4'000'000)));
        last_progress_ = t0;
        for (conn& c : conns_) {
            start_request(c, t0);
        }
        std::vector<epoll_event> events(std::min<std::size_t>(conns_.size(), 1024));
        while (open_ > 0) {
            const int k = epoll_wait(ep_, events.data(), static_cast<int>(events.size()), 100);
            if (k < 0 && errno != EINTR) {
                fail_errno("epoll_wait");
            }
            for (std::size_t i = 0; i < static_cast<std::size_t>(std::max(k, 0)); ++i) {
                conn& c = conns_[events[i].data.u64];
                if (!c.open) {
                    continue;
                }
                const std::uint32_t what = events[i].events;
                if ((what & EPOLLOUT) != 0U) {
                    send_more(c);
                }
                if ((what & (EPOLLIN | EPOLLERR | EPOLLHUP)) != 0U) {
                    receive(c);
                }
            }
            const std::int64_t t = now_ns();
            advance_phase(t);
            if (t - last_progress_ > stall_ns) {
                fail("stalled: no request completed for 10 s");
            }
        }
        report();
        return 0;
    }

private:
    void advance_phase(std::int64_t t) {
        if (phase_ == 0 && t >= warmup_end_) {
            phase_ = 1;
            measure_start_ = t;
            cpu_start_ = process_cpu_s(o_.server_pid);
            sched_start_ = process_sched_s(o_.server_pid);
        } else if (phase_ == 1 &&
                   (t >= measure_end_ || latencies_.size() + straddling_ >= o_.max_requests)) {
            phase_ = 2;
            measure_stop_ = t;
            cpu_stop_ = process_cpu_s(o_.server_pid);
            sched_stop_ = process_sched_s(o_.server_pid);
        }
    }

    void start_request(conn& c, std::int64_t t) {
        const std::uint64_t k = c.requests++;
        c.msg = pattern_.data() + (c.index * 7919 + k * 104729) % pattern_spread;
        c.sent = 0;
        c.received = 0;
        c.started_ns = t;
        send_more(c);
    }

    void set_out(conn& c, bool on) {
        if (c.want_out == on) {
            return;
        }
        c.want_out = on;
        epoll_event ev{};
        ev.events = EPOLLIN | (on ? EPOLLOUT : 0U);
        ev.data.u64 = c.index;
        if (epoll_ctl(ep_, EPOLL_CTL_MOD, c.fd, &ev) < 0) {
            fail_errno("epoll_ctl");
        }
    }

    void send_more(conn& c) {
        while (c.sent < o_.size) {
            const auto r = send(c.fd, c.msg + c.sent, o_.size - c.sent, MSG_NOSIGNAL);
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    set_out(c, true);
                    return;
                }
                if (errno == EINTR) {
                    continue;
                }
                fail_errno("send");
            }
            c.sent += static_cast<std::size_t>(r);
        }
        set_out(c, false);
    }

    void receive(conn& c) {
        for (;;) {
            const std::size_t want = o_.size - c.received;
            if (want == 0) {
                fail("the server sent more than it was sent");
            }
            const auto r = recv(c.fd, scratch_.data(), want, 0);
            if (r < 0) {
                if (errno == EAGAIN || errno == EWOULDBLOCK) {
                    return;
                }
                if (errno == EINTR) {
                    continue;
                }
                fail_errno("recv");
            }
            if (r == 0) {
                fail("the server closed a connection in the middle of a request");
            }
            const auto got = static_cast<std::size_t>(r);
            if (c.received + got > c.sent) {
                fail("received bytes that were not sent yet");
            }
            if (std::memcmp(scratch_.data(), c.msg + c.received, got) != 0) {
                fail("the echo differs from the message (connection " + std::to_string(c.index) +
                     ", request " + std::to_string(c.requests) + ")");
            }
            c.received += got;
            if (c.received == o_.size) {
                complete(c);
                return;
            }
            if (got < want) {
                return; // most likely drained: let epoll say when more comes
            }
        }
    }

    void complete(conn& c) {
        const std::int64_t t = now_ns();
        last_progress_ = t;
        advance_phase(t);
        if (phase_ == 1 && c.started_ns >= measure_start_) {
            latencies_.push_back(t - c.started_ns);
        } else if (phase_ == 1) {
            ++straddling_; // started in the warm-up: counted, not timed
        }
        if (phase_ == 2) {
            close(c.fd);
            c.open = false;
            --open_;
            return;
        }
        start_request(c, t);
    }

    static double percentile_us(std::vector<std::int64_t>& v, double p) {
        if (v.empty()) {
            return 0;
        }
        const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
        std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
        return static_cast<double>(v[k]) / 1000.0;
    }

    void report() {
        const std::uint64_t n = latencies_.size() + straddling_;
        if (n == 0) {
            fail("no request completed in the measured phase");
        }
        const double seconds = static_cast<double>(measure_stop_ - measure_start_) * 1e-9;
        const double p50 = percentile_us(latencies_, 0.50);
        const double p99 = percentile_us(latencies_, 0.99);
        char cpu[64] = "-";
        char per[64] = "-";
        char sched[64] = "-";
        if (o_.server_pid > 0 && cpu_start_ >= 0 && cpu_stop_ >= 0) {
            const double used = cpu_stop_ - cpu_start_;
            std::snprintf(cpu, sizeof cpu, "%.2f", used);
            std::snprintf(per, sizeof per, "%.2f", used * 1e6 / static_cast<double>(n));
            if (sched_start_ >= 0 && sched_stop_ >= 0) {
                std::snprintf(sched, sizeof sched, "%.2f",
                              (sched_stop_ - sched_start_) * 1e6 / static_cast<double>(n));
            }
        }
        std::printf("echo-load server=%s size=%zu conns=%zu requests=%llu seconds=%.3f rps=%.0f "
                    "p50_us=%.1f p99_us=%.1f server_cpu_s=%s cpu_us_per_req=%s "
                    "sched_us_per_req=%s load1=%.2f\n",
                    o_.label.c_str(), o_.size, o_.conns, static_cast<unsigned long long>(n),
                    seconds, static_cast<double>(n) / seconds, p50, p99, cpu, per, sched, load1());
    }

    const options& o_;
    std::vector<char> pattern_;
    std::vector<char> scratch_;
    std::vector<conn> conns_;
    std::vector<std::int64_t> latencies_;
    std::uint64_t straddling_ = 0;
    std::size_t open_ = 0;
    int ep_ = -1;
    int phase_ = 0; // 0 warm-up, 1 measured, 2 finishing
    std::int64_t warmup_end_ = 0;
    std::int64_t measure_end_ = 0;
    std::int64_t measure_start_ = 0;
    std::int64_t measure_stop_ = 0;
    std::int64_t last_progress_ = 0;
    double cpu_start_ = -1;
    double cpu_stop_ = -1;
    double sched_start_ = -1;
    double sched_stop_ = -1;
};

options parse(int argc, char** argv) {
    options o;
    for (int i = 1; i < argc; ++i) {
        const std::string_view a = argv[i];
        if (i + 1 >= argc) {
            fail("missing value after " + std::string(a));
        }
        const char* v = argv[++i];
        if (a == "--port") {
            o.port = std::atoi(v);
        } else if (a == "--conns") {
            o.conns = std::strtoull(v, nullptr, 10);
        } else if (a == "--size") {
            o.size = std::strtoull(v, nullptr, 10);
        } else if (a == "--warmup") {
            o.warmup_s = std::strtod(v, nullptr);
        } else if (a == "--duration") {
            o.duration_s = std::strtod(v, nullptr);
        } else if (a == "--max-requests") {
            o.max_requests = std::strtoull(v, nullptr, 10);
        } else if (a == "--server-pid") {
            o.server_pid = std::atol(v);
        } else if (a == "--idle") {
            o.idle = std::strtoull(v, nullptr, 10);
        } else if (a == "--label") {
            o.label = v;
        } else {
            fail("unknown argument " + std::string(a));
        }
    }
    if (o.port <= 0 || o.port > 65535) {
        fail("--port wants a port number");
    }
    if (o.idle == 0 && (o.conns == 0 || o.size == 0 || o.duration_s <= 0 || o.max_requests == 0)) {
        fail("--conns, --size, --duration and --max-requests want positive values");
    }
    if (o.idle > 0 && o.server_pid <= 0) {
        fail("--idle needs --server-pid");
    }
    return o;
}

} // namespace

int main(int argc, char** argv) {
    const options o = parse(argc, argv);
    if (o.idle > 0) {
        return run_idle(o);
    }
    load l(o);
    return l.run();
}
