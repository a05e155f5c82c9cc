"""`/surprisal`: how surprised a language model is by each token of a text."""
