"""Who a user lets reach them: blocks (and, later, follows)."""
