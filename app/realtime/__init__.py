"""Realtime: `/ws`, the socket hub, the frame protocol and the loops that keep sockets true."""
