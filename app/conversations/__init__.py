"""Direct messages between two users: conversations, their history and read receipts."""
