"""Channels: how a notification reaches someone beyond their open sockets (email, push).

`base` is the framework (a channel is one class in its registry), `runner` runs
the enabled channels' consumers, `preferences` and `deliveries` are what each
channel consults and records, `email` and `push` are the channels.
"""
