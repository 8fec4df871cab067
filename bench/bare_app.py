"""A bare flask-sock app, the baseline for Herald's per-socket cost (`bench.capacity`).

The same stack Herald's sockets use (gunicorn's gevent worker, flask-sock,
simple-websocket) and nothing else: no token, no database, no hub. Each socket
gets one `ready` frame, as Herald's do, then waits for client frames.
"""

from flask import Flask
from flask_sock import Sock

app = Flask(__name__)
app.config["SOCK_SERVER_OPTIONS"] = {"ping_interval": None}
sock = Sock(app)


@app.get("/readyz")
def ready():
    return {"status": "ready"}


@sock.route("/ws")
def socket(ws):
    ws.send('{"type":"ready","data":{"missed":0,"truncated":false}}')
    while ws.receive() is not None:
        pass
