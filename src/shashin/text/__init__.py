"""Text handling shared by indexing and search: tokenization, query syntax, matching."""
