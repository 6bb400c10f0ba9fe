"""The end-to-end demo: a synthetic (or replayed) shop driven through the local stack, day by day."""
