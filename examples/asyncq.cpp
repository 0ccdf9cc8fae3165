// SPDX-License-Identifier: MIT
// asyncq: producers put random items on an asyncio::queue, consumers take them off; main waits
// for the producers, then for the queue to drain (join), then cancels the consumers.
//
// The port of Real Python's asyncq.py, line for line. Each producer makes randint(0, 10) items,
// sleeping randint(0, 10) seconds before each; each consumer loops forever: sleep, get, report,
// task_done. With the same --seed it draws the very numbers Python's `random` module draws
// (py_random.hpp), so `asyncq --virtual-time` prints the lines asyncq.py prints on a virtual-time
// loop, in the same order (tests/asyncq/compare.py checks this).
//
//   asyncq [-p NPROD] [-c NCON] [--seed SEED] [--virtual-time]
//
// On the real clock a run takes as long as the slowest producer (46 seconds with the defaults);
// --virtual-time skips the waiting and finishes at once. Every timing printed is read on the
// loop's clock (loop.time()), so under --virtual-time the timings are virtual too ("Program
// completed in 40.00000 seconds." for seed 444) where the real clock would show microseconds.
#include "py_random.hpp"

#include <asyncio/asyncio.hpp>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace {

using item = std::pair<std::string, asyncio::loop_clock::time_point>;
using item_queue = asyncio::queue<item>;

/// Python's module-level `random` generator, which asyncq.py seeds with random.seed(444).
py_random::random& rng() {
    static py_random::random generator(444);
    return generator;
}

/// random.randint(a, b) on the module-level generator.
int randint(int a, int b) {
    return static_cast<int>(rng().randint(a, b));
}

/// os.urandom(size).hex(): `size` random bytes from the operating system, as lowercase hex.
asyncio::task<std::string> makeitem(std::size_t size = 5) {
    static constexpr std::string_view digits = "0123456789abcdef";
    std::random_device os_random;
    std::string hex;
    hex.reserve(2 * size);
    for (std::size_t k = 0; k < size; ++k) {
        const unsigned byte = os_random() & 0xffU;
        hex += digits[byte >> 4U];
        hex += digits[byte & 0xfU];
    }
    co_return hex;
}

asyncio::task<> randsleep(std::string caller = {}) {
    const int i = randint(0, 10);
    if (!caller.empty()) {
        std::printf("%s sleeping for %d seconds.\n", caller.c_str(), i);
    }
    co_await asyncio::sleep(std::chrono::seconds(i));
}

// The queue comes by pointer: it lives in main_task's frame. The consumers main_task cancels just
// before it returns unwind after the queue is gone; a queue tells its waiters when it is
// destroyed, so that is safe (tests/regressions_test.cpp).
asyncio::task<> produce(int name, item_queue* q) {
    const int n = randint(0, 10);
    for (int k = 0; k < n; ++k) { // Synchronous loop for each single producer
        co_await randsleep("Producer " + std::to_string(name));
        std::string i = co_await makeitem();
        const auto t = asyncio::loop_clock::now();
        // An unbounded queue is never full: put does not suspend, so this line comes before any
        // consumer can report the item, as in Python.
        co_await q->put(std::make_pair(i, t));
        std::printf("Producer %d added <%s> to queue.\n", name, i.c_str());
    }
}

asyncio::task<> consume(int name, item_queue* q) {
    for (;;) {
        co_await randsleep("Consumer " + std::to_string(name));
        const auto [i, t] = co_await q->get();
        const std::chrono::duration<double> waited = asyncio::loop_clock::now() - t;
        std::printf("Consumer %d got element <%s> in %0.5f seconds.\n", name, i.c_str(),
                    waited.count());
        q->task_done();
    }
}

asyncio::task<> main_task(int nprod, int ncon) {
    item_queue q;
    std::vector<asyncio::task_handle<>> producers;
    producers.reserve(static_cast<std::size_t>(std::max(nprod, 0)));
    for (int n = 0; n < nprod; ++n) {
        producers.push_back(asyncio::create_task(produce(n, &q)));
    }
    std::vector<asyncio::task_handle<>> consumers;
    consumers.reserve(static_cast<std::size_t>(std::max(ncon, 0)));
    for (int n = 0; n < ncon; ++n) {
        consumers.push_back(asyncio::create_task(consume(n, &q)));
    }
    co_await asyncio::gather(producers);
    co_await q.join(); // Implicitly awaits consumers, too
    for (asyncio::task_handle<>& c : consumers) {
        c.cancel();
    }
}

/// main_task timed on the loop's clock: the seconds it took (virtual ones under --virtual-time).
asyncio::task<double> timed_main(int nprod, int ncon) {
    const auto start = asyncio::loop_clock::now();
    co_await main_task(nprod, ncon);
    const std::chrono::duration<double> elapsed = asyncio::loop_clock::now() - start;
    co_return elapsed.count();
}

struct options {
    int nprod = 5;
    int ncon = 10;
    std::int64_t seed = 444;
    bool virtual_time = false;
};

constexpr const char* usage =
    "usage: asyncq [-h] [-p NPROD] [-c NCON] [--seed SEED] [--virtual-time]\n";

/// argparse's behaviour on a bad command line: the usage and the error on stderr, exit code 2.
[[noreturn]] void usage_error(const std::string& message) {
    std::fputs(usage, stderr);
    std::fprintf(stderr, "asyncq: error: %s\n", message.c_str());
    std::exit(2);
}

/// int(text) for a decimal integer: optional sign, digits, nothing else.
bool parse_int(std::string_view text, std::int64_t lo, std::int64_t hi, std::int64_t& out) {
    std::size_t pos = 0;
    bool negative = false;
    if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
        negative = text[pos] == '-';
        ++pos;
    }
    if (pos == text.size()) {
        return false;
    }
    // Accumulate the magnitude as unsigned, so that the most negative int64 parses too.
    std::uint64_t magnitude = 0;
    for (; pos < text.size(); ++pos) {
        const char c = text[pos];
        if (c < '0' || c > '9') {
            return false;
        }
        const auto digit = static_cast<std::uint64_t>(c - '0');
        if (magnitude > (UINT64_MAX - digit) / 10) {
            return false;
        }
        magnitude = magnitude * 10 + digit;
    }
    const auto limit = negative ? std::uint64_t{0} - static_cast<std::uint64_t>(lo)
                                : static_cast<std::uint64_t>(hi);
    if (magnitude > limit) {
        return false;
    }
    out = negative ? static_cast<std::int64_t>(std::uint64_t{0} - magnitude)
                   : static_cast<std::int64_t>(magnitude);
    return true;
}

options parse_args(int argc, char** argv) {
    struct int_option {
        const char* short_name; // may be null
        const char* long_name;
        const char* display; // as argparse names it in errors
        std::int64_t lo;
        std::int64_t hi;
    };
    static constexpr std::array<int_option, 3> int_options{{
        {"-p", "--nprod", "-p/--nprod", INT32_MIN, INT32_MAX},
        {"-c", "--ncon", "-c/--ncon", INT32_MIN, INT32_MAX},
        {nullptr, "--seed", "--seed", INT64_MIN, INT64_MAX},
    }};
    options opts;
    std::vector<std::string_view> args;
    for (int k = 1; k < argc; ++k) {
        args.emplace_back(argv[k]);
    }
    for (std::size_t k = 0; k < args.size(); ++k) {
        const std::string_view arg = args[k];
        if (arg == "-h" || arg == "--help") {
            std::fputs(usage, stdout);
            std::fputs("\noptions:\n"
                       "  -h, --help            show this help message and exit\n"
                       "  -p NPROD, --nprod NPROD\n"
                       "                        number of producers (default 5)\n"
                       "  -c NCON, --ncon NCON  number of consumers (default 10)\n"
                       "  --seed SEED           seed of Python's random module, a 64-bit integer "
                       "(default 444)\n"
                       "  --virtual-time        run on a virtual clock: no real waiting\n",
                       stdout);
            std::exit(0);
        }
        if (arg == "--virtual-time") {
            opts.virtual_time = true;
            continue;
        }
        const int_option* matched = nullptr;
        std::string_view value;
        bool has_value = false;
        for (const int_option& o : int_options) {
            const std::string_view long_name = o.long_name;
            if (arg == long_name || (o.short_name != nullptr && arg == o.short_name)) {
                matched = &o;
            } else if (arg.size() > long_name.size() &&
                       arg.substr(0, long_name.size()) == long_name &&
                       arg[long_name.size()] == '=') {
                matched = &o; // --nprod=3
                value = arg.substr(long_name.size() + 1);
                has_value = true;
            } else if (o.short_name != nullptr && arg.size() > 2 &&
                       arg.substr(0, 2) == o.short_name) {
                matched = &o; // -p3, or -p=3 as argparse also reads it
                value = arg.substr(2);
                if (value.front() == '=') {
                    value.remove_prefix(1);
                }
                has_value = true;
            }
            if (matched != nullptr) {
                break;
            }
        }
        if (matched == nullptr) {
            usage_error("unrecognized arguments: " + std::string(arg));
        }
        if (!has_value) {
            // argparse takes "-5" as a value only when it looks like a negative number.
            if (k + 1 == args.size() || (args[k + 1].size() > 1 && args[k + 1][0] == '-' &&
                                         (args[k + 1][1] < '0' || args[k + 1][1] > '9'))) {
                usage_error(std::string("argument ") + matched->display +
                            ": expected one argument");
            }
            value = args[++k];
        }
        std::int64_t parsed = 0;
        if (!parse_int(value, matched->lo, matched->hi, parsed)) {
            usage_error(std::string("argument ") + matched->display + ": invalid int value: '" +
                        std::string(value) + "'");
        }
        if (matched == &int_options[0]) {
            opts.nprod = static_cast<int>(parsed);
        } else if (matched == &int_options[1]) {
            opts.ncon = static_cast<int>(parsed);
        } else {
            opts.seed = parsed;
        }
    }
    return opts;
}

} // namespace

int main(int argc, char** argv) {
    const options opts = parse_args(argc, argv);
    rng().seed(opts.seed);
    asyncio::run_options run_opts;
    if (opts.virtual_time) {
        run_opts.clock = asyncio::clock_kind::virtual_time;
    }
    double elapsed = 0;
    try {
        elapsed = asyncio::run(timed_main(opts.nprod, opts.ncon), std::move(run_opts));
    } catch (const std::exception& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "asyncq: %s\n", e.what());
        return 1;
    } catch (const asyncio::cancelled_error& e) {
        std::fflush(stdout);
        std::fprintf(stderr, "asyncq: cancelled: %s\n", e.what());
        return 1;
    }
    std::printf("Program completed in %0.5f seconds.\n", elapsed);
    std::fflush(stdout);
    return 0;
}
