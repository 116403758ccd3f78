"""Article readers: one module per format (`txt`, `md`, `html`, `json`) behind one
dispatch by file suffix (`dispatch`), sharing the `Article` value and the decoding and
boilerplate steps of `base`.

`read_article(path)` reads one file exactly as the indexer does; `read_article_file`
is what the corpus scan calls, with the file's corpus-relative id.
"""

from index.readers.base import DEFAULT_MAX_BYTES, Article, FileResult
from index.readers.dispatch import ARTICLE_SUFFIXES, read_article, read_article_file

__all__ = ["ARTICLE_SUFFIXES", "DEFAULT_MAX_BYTES", "Article", "FileResult", "read_article", "read_article_file"]
