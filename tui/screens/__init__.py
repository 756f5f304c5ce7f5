"""One module per screen: main lists, document detail, compose, prompts and help."""
