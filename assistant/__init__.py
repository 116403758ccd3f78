"""The read side of news-assistant: retrieval, grounded answers, chat sessions,
export, the command line and (in `assistant.tui`, the only UI module) the terminal app."""
