"""Relations between two users: who blocked whom, who follows whom."""
