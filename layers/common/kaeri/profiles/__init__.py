"""Customer profiles: the model, the projector that keeps them from events, and their repository."""
