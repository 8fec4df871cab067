"""`flask --app wsgi channels`: run the channel senders in a process of their own.

For operators who keep email (and push) away from the web workers: run the web
workers with CHANNELS_ENABLED=false and one or more of these (with the same
broker and database, and BACKGROUND_TASKS=false so this process runs nothing
else). Several may run: they share each channel's consumer group and claim
emails under leases. SIGTERM or Ctrl-C stops it.
"""

import signal
import threading

import click
from flask import current_app
from flask.cli import with_appcontext

from app.extensions import current_node


@click.command("channels")
@with_appcontext
def channels_command():
    """Run the channel senders (email...) until SIGTERM or Ctrl-C."""
    node = current_node()
    stopping = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stopping.set())
    node.channels.start()
    names = ", ".join(channel.name for channel in node.channels.channels)
    click.echo(f"Herald channels running ({names}) on {current_app.config['INSTANCE_ID']}")
    while not stopping.wait(1.0):
        pass
    node.stop()
    click.echo("Herald channels stopped")
