"""Web Push (RFC 8030/8291/8292): VAPID keys, browsers' subscriptions, and the sender."""
