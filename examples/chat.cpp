// SPDX-License-Identifier: MIT
// chat: a line-based chat server (each client joins with a name, each line it sends goes to the
// others) and a scripted set of clients talking through it, in one program on 127.0.0.1. After
// each step the driver reads the one line every client concerned must receive before it goes on,
// so the transcript is the same on every run, whatever the timing.
//
//   chat
//
// The Python twin (examples/py/chat.py; the CTest tests check that both print
// examples/chat.expected):
//
//     SCRIPT = [
//         ("join", "alice"),
//         ("join", "bob"),
//         ("say", "alice", "hi bob"),
//         ("join", "carol"),
//         ("say", "bob", "hello alice, hello carol"),
//         ("say", "carol", "hey; what is this [chat]?"),
//         ("leave", "alice"),
//         ("say", "bob", "alice left us"),
//         ("leave", "carol"),
//         ("leave", "bob"),
//     ]
//
//     class ChatServer:
//         def __init__(self):
//             self.clients = {}  # name -> writer, in the order they joined
//             self.relayed = 0
//
//         async def broadcast(self, sender, text):
//             for name, writer in list(self.clients.items()):
//                 if name != sender:
//                     writer.write(text.encode())
//                     await writer.drain()
//                     self.relayed += 1
//
//         async def handle(self, reader, writer):
//             name = (await reader.readline()).decode().strip()
//             here = ", ".join(self.clients) or "nobody"
//             self.clients[name] = writer
//             writer.write(f"welcome {name}; here: {here}\n".encode())
//             await self.broadcast(name, f"* {name} joined\n")
//             while line := await reader.readline():
//                 await self.broadcast(name, f"{name}: {line.decode()}")
//             del self.clients[name]
//             await self.broadcast(name, f"* {name} left\n")
//             writer.close()
//             await writer.wait_closed()
//
//     async def show(name, reader):
//         line = await reader.readline()
//         print(f"  {name} got: {line.decode().rstrip()}")
//
//     async def run_script(port):
//         conns = {}  # name -> (reader, writer), in the order they joined
//         for action, name, *text in SCRIPT:
//             if action == "join":
//                 print(f"{name} joins")
//                 reader, writer = await asyncio.open_connection("127.0.0.1", port)
//                 writer.write(f"{name}\n".encode())
//                 await show(name, reader)  # the welcome line
//                 others = list(conns)
//                 conns[name] = (reader, writer)
//             elif action == "say":
//                 print(f"{name} says: {text[0]}")
//                 conns[name][1].write(f"{text[0]}\n".encode())
//                 others = [other for other in conns if other != name]
//             else:  # leave: end our side, then the server ends its side
//                 print(f"{name} leaves")
//                 reader, writer = conns.pop(name)
//                 writer.write_eof()
//                 rest = await reader.read()
//                 print(f"  {name} got the end of the stream ({len(rest)} more bytes)")
//                 writer.close()
//                 await writer.wait_closed()
//                 others = list(conns)
//             for other in others:
//                 await show(other, conns[other][0])
//
//     async def main():
//         chat = ChatServer()
//         server = await asyncio.start_server(chat.handle, "127.0.0.1", 0)
//         port = server.sockets[0].getsockname()[1]
//         await asyncio.wait_for(run_script(port), 10)
//         server.close()
//         await server.wait_closed()
//         print(f"server: closed after relaying {chat.relayed} lines")
//
//     asyncio.run(main())
#include <asyncio/asyncio.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <exception>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;

struct step {
    const char* action;
    const char* name;
    const char* text;
};

const step script[] = {
    {"join", "alice", ""},
    {"join", "bob", ""},
    {"say", "alice", "hi bob"},
    {"join", "carol", ""},
    {"say", "bob", "hello alice, hello carol"},
    {"say", "carol", "hey; what is this [chat]?"},
    {"leave", "alice", ""},
    {"say", "bob", "alice left us"},
    {"leave", "carol", ""},
    {"leave", "bob", ""},
};

// Python's str.strip() / rstrip() for the ASCII lines of this program.
std::string rstripped(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r' || s.back() == ' ')) {
        s.pop_back();
    }
    return s;
}

std::string stripped(std::string s) {
    s = rstripped(std::move(s));
    s.erase(0, s.find_first_not_of(" \r\n"));
    return s;
}

struct chat_server {
    // name -> writer, in the order they joined (Python's dict keeps that order).
    std::vector<std::pair<std::string, asyncio::stream_writer>> clients;
    int relayed = 0;

    asyncio::task<> broadcast(std::string sender, std::string text) {
        // A copy, as list(self.clients.items()): clients join and leave during the drains.
        auto targets = clients;
        for (auto& [name, writer] : targets) {
            if (name != sender) {
                writer.write(text);
                co_await writer.drain();
                ++relayed;
            }
        }
    }

    asyncio::task<> handle(asyncio::stream_reader reader, asyncio::stream_writer writer) {
        const std::string name = stripped(co_await reader.readline());
        std::string here;
        for (const auto& client : clients) {
            here += (here.empty() ? "" : ", ") + client.first;
        }
        clients.emplace_back(name, writer);
        writer.write("welcome " + name + "; here: " + (here.empty() ? "nobody" : here) + "\n");
        co_await broadcast(name, "* " + name + " joined\n");
        while (auto line = co_await reader.next()) {
            co_await broadcast(name, name + ": " + *line);
        }
        std::erase_if(clients, [&](const auto& client) { return client.first == name; });
        co_await broadcast(name, "* " + name + " left\n");
        writer.close();
        co_await writer.wait_closed();
    }
};

struct connection {
    std::string name;
    asyncio::stream_reader reader;
    asyncio::stream_writer writer;
};

asyncio::task<> show(std::string name, asyncio::stream_reader reader) {
    const std::string line = co_await reader.readline();
    std::printf("  %s got: %s\n", name.c_str(), rstripped(line).c_str());
}

asyncio::task<> run_script(int port) {
    std::vector<connection> conns; // in the order they joined
    const auto find = [&](const std::string& name) {
        return std::ranges::find_if(conns, [&](const connection& c) { return c.name == name; });
    };
    for (const step& s : script) {
        const std::string action = s.action;
        const std::string name = s.name;
        std::vector<std::string> others;
        if (action == "join") {
            std::printf("%s joins\n", name.c_str());
            auto [reader, writer] = co_await asyncio::open_connection("127.0.0.1", port);
            writer.write(name + "\n");
            co_await show(name, reader); // the welcome line
            for (const connection& c : conns) {
                others.push_back(c.name);
            }
            conns.push_back({name, reader, writer});
        } else if (action == "say") {
            std::printf("%s says: %s\n", name.c_str(), s.text);
            find(name)->writer.write(std::string(s.text) + "\n");
            for (const connection& c : conns) {
                if (c.name != name) {
                    others.push_back(c.name);
                }
            }
        } else { // leave: end our side, then the server ends its side
            std::printf("%s leaves\n", name.c_str());
            const auto it = find(name);
            connection c = *it;
            conns.erase(it);
            c.writer.write_eof();
            const std::string rest = co_await c.reader.read();
            std::printf("  %s got the end of the stream (%zu more bytes)\n", name.c_str(),
                        rest.size());
            c.writer.close();
            co_await c.writer.wait_closed();
            for (const connection& other : conns) {
                others.push_back(other.name);
            }
        }
        for (const std::string& other : others) {
            co_await show(other, find(other)->reader);
        }
    }
}

asyncio::task<> main_task() {
    chat_server chat;
    asyncio::server server = co_await asyncio::start_server(
        [&chat](asyncio::stream_reader r, asyncio::stream_writer w) {
            return chat.handle(std::move(r), std::move(w));
        },
        "127.0.0.1", 0);
    const int port = server.sockets().at(0).getsockname().port();
    co_await asyncio::wait_for(run_script(port), 10s);
    server.close();
    co_await server.wait_closed();
    std::printf("server: closed after relaying %d lines\n", chat.relayed);
}

} // namespace

int main() {
    try {
        asyncio::run(main_task());
    } catch (const std::exception& e) {
        std::fprintf(stderr, "chat: %s\n", e.what());
        return 1;
    }
    return 0;
}
