"""The names the rest of the write side has always imported from here (`Article`,
`read_article_file`, the size limit, the suffixes). The readers themselves live in
`index/readers/`, one module per format; this module only forwards to them."""

from index.readers import ARTICLE_SUFFIXES, DEFAULT_MAX_BYTES, Article, FileResult, read_article, read_article_file

__all__ = ["ARTICLE_SUFFIXES", "DEFAULT_MAX_BYTES", "Article", "FileResult", "read_article", "read_article_file"]
