"""Herald served for real in a thread of the test process.

Herald as a process of its own (gunicorn) is `tests.support.processes.HeraldProcess`.
"""

import threading

from werkzeug.serving import make_server

from app import create_app
from app.extensions import current_node


class LiveServer:
    """A Herald app served by werkzeug on 127.0.0.1 in a background thread.

    Tests reach it only over sockets; holding the app in-process lets a test
    inject a broker fault (the outbox test) or look at the hub (`node`).
    """

    def __init__(self, config, setup=None, *, wait_for_consumer=True):
        self.app = create_app(config)
        if setup is not None:  # e.g. extra routes, before the first request
            setup(self.app)
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        node = self.node
        if wait_for_consumer and node.started and node.consumes:
            # Like /readyz for a real deployment: sockets are refused until it listens.
            node.consumer.subscribed.wait(30)

    @property
    def node(self):
        """The app's `Node` (broker, outbox relay, consumer, hub)."""
        with self.app.app_context():
            return current_node()

    def stop(self):
        self.server.shutdown()
        self.server.server_close()
        self.node.stop()
