"""`flask` commands for operators: make admins without going through the API."""

import click
from flask import current_app

from app.auth import service
from app.channels.cli import channels_command


def init_app(app):
    app.cli.add_command(channels_command)  # `flask channels`: the senders on their own

    @app.cli.command("create-admin")
    @click.argument("username")
    @click.argument("email")
    @click.password_option(help="The admin's password (prompted when not given).")
    def create_admin(username, email, password):
        """Create an admin account, or promote and re-password an existing one."""
        service.ensure_admin(
            username=username,
            email=email,
            password=password,
            rounds=current_app.config["BCRYPT_ROUNDS"],
        )
        click.echo(f"{username} is an admin.")

    @app.cli.command("set-role")
    @click.argument("username")
    @click.argument("role", type=click.Choice(["user", "admin"]))
    def set_role(username, role):
        """Make an existing user an admin or a plain user."""
        service.set_role(username=username, role=role)
        click.echo(f"{username} is now {role}.")
