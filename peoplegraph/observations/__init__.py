"""Objective layer: face observations (embeddings plus per-face facts) in a vector store."""
