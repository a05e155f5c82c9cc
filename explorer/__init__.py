"""The domain of Model Explorer, free of Discord: the contract between the bot and its
commands, models and their tasks, tokenisation, forward passes, attention explorations, views
and drawing."""
