"""cramp-expert."""
