"""Model Explorer: the Discord-facing application, settings and runtime."""
