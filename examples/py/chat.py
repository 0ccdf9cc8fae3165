#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Python twin of examples/chat.cpp: a line-based chat server and a scripted set of clients."""

import asyncio

# The script: who does what, in order. After each step the driver reads the one line each client
# concerned must receive before it goes on, so the transcript does not depend on timing.
SCRIPT = [
    ("join", "alice"),
    ("join", "bob"),
    ("say", "alice", "hi bob"),
    ("join", "carol"),
    ("say", "bob", "hello alice, hello carol"),
    ("say", "carol", "hey; what is this [chat]?"),
    ("leave", "alice"),
    ("say", "bob", "alice left us"),
    ("leave", "carol"),
    ("leave", "bob"),
]


class ChatServer:
    def __init__(self):
        self.clients = {}  # name -> writer, in the order they joined
        self.relayed = 0

    async def broadcast(self, sender, text):
        for name, writer in list(self.clients.items()):
            if name != sender:
                writer.write(text.encode())
                await writer.drain()
                self.relayed += 1

    async def handle(self, reader, writer):
        name = (await reader.readline()).decode().strip()
        here = ", ".join(self.clients) or "nobody"
        self.clients[name] = writer
        writer.write(f"welcome {name}; here: {here}\n".encode())
        await self.broadcast(name, f"* {name} joined\n")
        while line := await reader.readline():
            await self.broadcast(name, f"{name}: {line.decode()}")
        del self.clients[name]
        await self.broadcast(name, f"* {name} left\n")
        writer.close()
        await writer.wait_closed()


async def show(name, reader):
    line = await reader.readline()
    print(f"  {name} got: {line.decode().rstrip()}")


async def run_script(port):
    conns = {}  # name -> (reader, writer), in the order they joined
    for action, name, *text in SCRIPT:
        if action == "join":
            print(f"{name} joins")
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(f"{name}\n".encode())
            await show(name, reader)  # the welcome line
            others = list(conns)
            conns[name] = (reader, writer)
        elif action == "say":
            print(f"{name} says: {text[0]}")
            conns[name][1].write(f"{text[0]}\n".encode())
            others = [other for other in conns if other != name]
        else:  # leave: end our side, then the server ends its side
            print(f"{name} leaves")
            reader, writer = conns.pop(name)
            writer.write_eof()
            rest = await reader.read()
            print(f"  {name} got the end of the stream ({len(rest)} more bytes)")
            writer.close()
            await writer.wait_closed()
            others = list(conns)
        for other in others:
            await show(other, conns[other][0])


async def main():
    chat = ChatServer()
    server = await asyncio.start_server(chat.handle, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    await asyncio.wait_for(run_script(port), 10)
    server.close()
    await server.wait_closed()
    print(f"server: closed after relaying {chat.relayed} lines")


asyncio.run(main())
