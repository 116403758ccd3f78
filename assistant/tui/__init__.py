"""The terminal chat (Textual). Everything here talks to the core through
`assistant.api.NewsAssistant`; slow work runs in named thread workers that report
back with the messages in `messages.py`, and nothing in `index/` or the answer path
imports this package."""
