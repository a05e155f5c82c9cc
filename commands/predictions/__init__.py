"""What a model predicts: `/fill-mask` (masked language models), `/predict` (causal ones) and
`/lens` (the logit lens), computed next to the model by `predicted`."""
