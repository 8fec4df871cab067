"""Accounts: users, login, tokens and roles."""
