"""The write side of news-assistant: read article files, clean them, chunk them,
embed the chunks and keep them in a crash-safe FAISS + SQLite store.

Nothing here imports a UI toolkit; heavy libraries (torch, sentence-transformers,
faiss) are imported inside the functions that need them so that importing this
package stays cheap.
"""

from index.readers import read_article

__all__ = ["read_article"]
