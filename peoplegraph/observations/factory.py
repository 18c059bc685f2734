"""Open the vector store the settings name: milvus-lite in DATA_DIR (default) or a Milvus server."""

from __future__ import annotations

from peoplegraph.observations.store import VectorStore
from peoplegraph.settings import Settings


def open_vector_store(settings: Settings, model_id: str, dim: int) -> VectorStore:
    """The face collection of `model_id` (`dim`-dimensional embeddings); raises StoreBusyError when the
    milvus-lite folder is held by another process."""
    from peoplegraph.observations.milvus import MilvusVectorStore

    return MilvusVectorStore(settings.milvus_target, model_id, dim, token=settings.milvus_token)
