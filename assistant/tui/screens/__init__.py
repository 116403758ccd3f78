"""Screens: the chat itself, the article view, and the dialogs."""
