"""Audiences: topics people subscribe to, a user's followers, and the fan-out that
notifies every member of one, each in their own inbox."""
