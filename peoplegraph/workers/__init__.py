"""ARQ workers: ingest (decode, detect, embed, store) and clustering, with progress in Redis."""
