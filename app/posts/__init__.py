"""Posts: short texts users publish, whose authors' followers are notified of each."""
