"""Token accounting for the index benchmark: how many model tokens are embedded per
model token of article text, and where the extra ones come from."""

from __future__ import annotations


def token_accounting(articles, chunks: dict, embedder) -> dict:
    """`chunks` maps article id -> the pipeline's chunks; `embedder` gives input_lengths
    (the model's own tokenizer, no truncation). Padding is not counted here: it
    depends on batching and is reported by the encoder."""
    from index.embedder import embedding_input

    article_tokens = sum(n - 2 for n in embedder.input_lengths([a.text for a in articles]))
    bodies = [c.text for a in articles for c in chunks[a.id]]
    inputs = [embedding_input(a.title, c.text) for a in articles for c in chunks[a.id]]
    chunk_tokens = sum(n - 2 for n in embedder.input_lengths(bodies))
    embedded = sum(embedder.input_lengths(inputs))
    n = len(inputs)
    header = embedded - chunk_tokens - 2 * n
    overlap = chunk_tokens - article_tokens  # text repeated in two chunks (a sentence of overlap)
    per = {
        "article text once": 1.0,
        "overlap": overlap / article_tokens,
        "title headers": header / article_tokens,
        "special tokens": 2 * n / article_tokens,
        "total": embedded / article_tokens,
    }
    return {"article_tokens": article_tokens, "chunk_text_tokens": chunk_tokens, "embedded_tokens": embedded,
            "inputs": n, "header_tokens": header, "overlap_tokens": overlap, "per_article_token": per,
            "mean_input_tokens": embedded / n if n else 0.0}
