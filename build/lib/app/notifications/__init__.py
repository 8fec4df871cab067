"""Notifications: stored per user, created over REST, listed, read and deleted."""
