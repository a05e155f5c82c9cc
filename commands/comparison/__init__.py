"""`/compare`: two models on one text, each read on the worker by `sides`."""
