"""WebSocket load generator: child processes that hold many sockets and time what they receive.

Each process runs one uvloop event loop with a minimal RFC 6455 client
(asyncio protocols, no per-frame task, no compression offered): on two cores
the load generator shares the machine with Herald, so it must spend as little
CPU per frame as possible: at 15,000 frames/s each of two processes took about
45 % of a core with asyncio's own loop and 28 % with uvloop, CPU the worker
being measured does not get.
Server frames are unmasked text frames; the client answers pings and parses
JSON (orjson) only for `notification` frames, taking the send time `data.t`
(epoch seconds, set by the publisher) and the phase `data.p`, and for the
recipient's copy of `message` frames, whose text is `<phase>@<send time>`
(`bench.conversations`).

`SocketFleet` starts the processes, waits until every socket got Herald's
`ready` frame, and collects per-phase counts and latencies at the end. With
`record=<phase>` it also keeps, for that phase, which socket (its path) got which
notification (its id and recipient), so a benchmark can count the lost, the
duplicated and the misrouted. Every process stops by itself at its deadline.
"""

import asyncio
import base64
import multiprocessing as mp
import os
import struct
import time
from array import array
from datetime import datetime

import orjson
import uvloop

from bench.harness import raise_nofile

READY = b'"type":"ready"'
NOTIFICATION = b'"type":"notification"'
MESSAGE = b'{"type":"message",'  # a prefix: "message.read" frames must not match


class _Client(asyncio.Protocol):
    __slots__ = ("buffer", "fleet", "handshake", "opened", "path", "transport", "upgraded")

    def __init__(self, fleet, opened, path):
        self.fleet, self.opened, self.path = fleet, opened, path
        self.buffer = bytearray()
        self.upgraded = False
        self.transport = None

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buffer += data
        if not self.upgraded:
            end = self.buffer.find(b"\r\n\r\n")
            if end < 0:
                return
            status = bytes(self.buffer[: self.buffer.find(b"\r\n")])
            del self.buffer[: end + 4]
            if b" 101 " not in status:
                if not self.opened.done():
                    self.opened.set_exception(ConnectionError(status.decode(errors="replace")))
                self.transport.close()
                return
            self.upgraded = True
        self._frames()

    def _frames(self):
        buf = self.buffer
        while len(buf) >= 2:
            opcode, length, offset = buf[0] & 0x0F, buf[1] & 0x7F, 2
            if length == 126:
                if len(buf) < 4:
                    return
                length, offset = struct.unpack_from("!H", buf, 2)[0], 4
            elif length == 127:
                if len(buf) < 10:
                    return
                length, offset = struct.unpack_from("!Q", buf, 2)[0], 10
            if len(buf) < offset + length:
                return
            payload = bytes(buf[offset : offset + length])
            del buf[: offset + length]
            if opcode == 1:
                self.fleet.on_text(self, payload)
            elif opcode == 9:
                self.send(payload, opcode=10)
            elif opcode == 8:
                self.transport.close()

    def send(self, payload, opcode=1):
        mask = os.urandom(4)
        length = len(payload)
        if length < 126:
            header = struct.pack("!BB", 0x80 | opcode, 0x80 | length)
        elif length < 65536:
            header = struct.pack("!BBH", 0x80 | opcode, 0x80 | 126, length)
        else:
            header = struct.pack("!BBQ", 0x80 | opcode, 0x80 | 127, length)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.transport.write(header + mask + masked)

    def connection_lost(self, exc):
        self.fleet.lost += 1
        if not self.opened.done():
            self.opened.set_exception(ConnectionError(f"closed before ready: {exc}"))


class _Fleet:
    """The sockets of one process and what they received."""

    def __init__(self, record=None):
        self.lost = 0
        self.pending_ready = {}
        self.phases = {}  # phase -> [count, latencies array, first, last]
        self.other = 0
        self.record, self.received = record, []  # [(socket path, id, recipient)] of `record`

    def on_text(self, client, payload):
        now = time.time()
        if NOTIFICATION in payload:
            notification = orjson.loads(payload)["data"]
            data = notification.get("data") or {}
            phase = data.get("p", "?")
            stats = self.phases.get(phase)
            if stats is None:
                stats = self.phases[phase] = [0, array("d"), now, now, array("d")]
            stats[0] += 1
            stats[3] = now
            if "t" in data:
                stats[1].append((now - data["t"]) * 1000.0)
            if phase == self.record:
                self.received.append((client.path, notification["id"], notification["userId"]))
            created = notification.get("createdAt")
            if created and phase == "e2e":  # server clock = client clock (same host)
                stored = datetime.fromisoformat(created).timestamp()
                stats[4].append((now - stored) * 1000.0)
        elif payload.startswith(MESSAGE):
            frame = orjson.loads(payload)
            message = frame["data"]
            if frame.get("for") != message["recipientId"]:
                return  # the sender's own copy
            phase, _, sent = message["text"].partition("@")
            stats = self.phases.get(phase)
            if stats is None:
                stats = self.phases[phase] = [0, array("d"), now, now, array("d")]
            stats[0] += 1
            stats[3] = now
            stats[1].append((now - float(sent)) * 1000.0)
        elif READY in payload:
            opened = self.pending_ready.pop(client, None)
            if opened is not None and not opened.done():
                opened.set_result(now)
        else:
            self.other += 1


async def _open(loop, fleet, host, port, path, timeout):
    opened = loop.create_future()
    key = base64.b64encode(os.urandom(16)).decode()
    transport, client = await asyncio.wait_for(
        loop.create_connection(lambda: _Client(fleet, opened, path), host, port), timeout
    )
    fleet.pending_ready[client] = opened
    transport.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    await asyncio.wait_for(opened, timeout)
    return client


async def _main(spec, report, stop):
    loop = asyncio.get_running_loop()
    fleet = _Fleet(spec.get("record"))
    gate = asyncio.Semaphore(spec["concurrency"])
    clients, errors, connect_ms = [], {}, array("d")

    async def one(path):
        async with gate:
            if time.time() > spec["connect_deadline"]:
                errors["not attempted: connect budget spent"] = (
                    errors.get("not attempted: connect budget spent", 0) + 1
                )
                return
            started = time.monotonic()
            try:
                clients.append(
                    await _open(loop, fleet, spec["host"], spec["port"], path, spec["timeout"])
                )
                connect_ms.append((time.monotonic() - started) * 1000)
            except Exception as error:
                name = type(error).__name__ + (f": {error}"[:80] if str(error) else "")
                errors[name] = errors.get(name, 0) + 1

    started = time.monotonic()
    await asyncio.gather(*(one(p) for p in spec["paths"]))
    report.put(
        (
            "connected",
            spec["index"],
            {
                "ok": len(clients),
                "errors": errors,
                "seconds": time.monotonic() - started,
                "connect_ms": connect_ms.tobytes(),
            },
        )
    )
    while not stop.is_set() and time.time() < spec["deadline"]:
        await asyncio.sleep(0.05)
    await asyncio.sleep(spec.get("linger", 0))
    phases = {
        str(k): {
            "n": v[0],
            "lat": v[1].tobytes(),
            "first": v[2],
            "last": v[3],
            "after_create": v[4].tobytes(),
        }
        for k, v in fleet.phases.items()
    }
    report.put(
        (
            "done",
            spec["index"],
            {
                "phases": phases,
                "lost": fleet.lost,
                "other": fleet.other,
                "received": fleet.received,
            },
        )
    )
    for client in clients:
        client.transport.abort()


def _child(spec, report, stop):
    raise_nofile()
    try:
        uvloop.run(_main(spec, report, stop))
    except BaseException as error:
        report.put(("failed", spec["index"], repr(error)))


class SocketFleet:
    """`processes` load-generator processes sharing the given socket paths."""

    def __init__(
        self,
        port,
        paths,
        *,
        processes=2,
        concurrency=200,
        seconds=120,
        timeout=30,
        budget=None,
        record=None,
    ):
        self.ctx = mp.get_context("spawn")
        self.report, self.stop_event = self.ctx.Queue(), self.ctx.Event()
        deadline = time.time() + seconds
        self.specs = [
            {
                "index": i,
                "host": "127.0.0.1",
                "port": port,
                "paths": paths[i::processes],
                "concurrency": concurrency,
                "timeout": timeout,
                "deadline": deadline,
                "connect_deadline": time.time() + (budget or seconds),
                "record": record,
            }
            for i in range(processes)
        ]
        self.procs = []
        self.connected = {}
        self.received = []  # after `finish`: (socket path, id, recipient) of the recorded phase

    def start(self, wait=300):
        for spec in self.specs:
            proc = self.ctx.Process(target=_child, args=(spec, self.report, self.stop_event))
            proc.daemon = True
            proc.start()
            self.procs.append(proc)
        while len(self.connected) < len(self.specs):
            kind, index, body = self.report.get(timeout=wait)
            if kind == "failed":
                raise RuntimeError(f"load generator {index} failed: {body}")
            self.connected[index] = body
        return self.connection_summary()

    def connection_summary(self):
        ok = sum(c["ok"] for c in self.connected.values())
        errors = {}
        for c in self.connected.values():
            for name, n in c["errors"].items():
                errors[name] = errors.get(name, 0) + n
        connect_ms = array("d")
        for c in self.connected.values():
            connect_ms.frombytes(c["connect_ms"])
        seconds = max(c["seconds"] for c in self.connected.values())
        return {"ok": ok, "errors": errors, "seconds": round(seconds, 2), "connect_ms": connect_ms}

    def finish(self, wait=60):
        """Stop the processes and merge what they received, per phase."""
        self.stop_event.set()
        merged, lost, done = {}, 0, 0
        end = time.monotonic() + wait
        while done < len(self.procs) and time.monotonic() < end:
            kind, index, body = self.report.get(timeout=max(0.1, end - time.monotonic()))
            if kind == "failed":
                raise RuntimeError(f"load generator {index} failed: {body}")
            if kind != "done":
                continue
            done += 1
            lost += body["lost"]
            self.received.extend(body["received"])
            for phase, stats in body["phases"].items():
                into = merged.setdefault(
                    phase,
                    {
                        "n": 0,
                        "lat": array("d"),
                        "after_create": array("d"),
                        "first": stats["first"],
                        "last": 0.0,
                    },
                )
                into["n"] += stats["n"]
                into["lat"].frombytes(stats["lat"])
                into["after_create"].frombytes(stats["after_create"])
                into["first"] = min(into["first"], stats["first"])
                into["last"] = max(into["last"], stats["last"])
        self.close()
        return merged, lost

    def close(self):
        self.stop_event.set()
        for proc in self.procs:
            proc.join(5)
            if proc.is_alive():
                proc.kill()
                proc.join(5)
