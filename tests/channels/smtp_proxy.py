"""A TCP relay in front of the SMTP server that can hold a message mid-send.

With `hold` set, a client's `DATA` command is kept back: the server never
sees the message, and the client waits for its answer, "mid-send", until the
test kills it. Everything else passes through as it is.
"""

import contextlib
import socket
import threading

from tests.support.services import free_port


class HoldingSmtpProxy:
    def __init__(self, upstream_port):
        self.upstream_port, self.port = upstream_port, free_port()
        self.hold = False
        self.held = threading.Event()  # set once a DATA was kept back
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.stopped = False

    @property
    def smtp_url(self):
        return f"smtp://127.0.0.1:{self.port}"

    def start(self):
        threading.Thread(target=self._accept, daemon=True).start()
        return self

    def stop(self):
        self.stopped = True
        self.listener.close()

    def _accept(self):
        while not self.stopped:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            upstream = socket.create_connection(("127.0.0.1", self.upstream_port), timeout=10)
            threading.Thread(target=self._pipe, args=(upstream, client), daemon=True).start()
            threading.Thread(target=self._pipe, args=(client, upstream, True), daemon=True).start()

    def _pipe(self, source, target, from_client=False):
        try:
            while chunk := source.recv(65536):
                if from_client and self.hold and b"DATA\r\n" in chunk.upper():
                    self.held.set()
                    break  # keep it back: wait for the client to die
                target.sendall(chunk)
            while from_client and source.recv(65536):
                pass
        except OSError:
            pass
        finally:
            for end in (source, target):
                with contextlib.suppress(OSError):
                    end.close()
