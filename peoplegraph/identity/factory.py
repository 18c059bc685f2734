"""Open the graph store the settings name: the embedded file in DATA_DIR (default) or a Neo4j server."""

from __future__ import annotations

from peoplegraph.identity.store import GraphStore
from peoplegraph.settings import Settings


def open_graph_store(settings: Settings) -> GraphStore:
    """A local path opens the embedded LadybugDB file (parent folders created; StoreBusyError when another
    process holds it); bolt://, neo4j:// (and their +s/+ssc forms) open a Neo4j server."""
    target = settings.graph_target
    if settings.graph_is_server:
        from peoplegraph.identity.neo4j_store import Neo4jGraphStore

        store: GraphStore = Neo4jGraphStore(target, settings.graph_user, settings.graph_password)
    elif "://" in target:
        raise ValueError(f"graph_uri: {target!r} is neither a local path nor a bolt:// or neo4j:// URI")
    else:
        from peoplegraph.identity.embedded import EmbeddedGraphStore

        store = EmbeddedGraphStore(target)
    store.gone_clusters_kept = settings.gone_clusters_kept  # type: ignore[attr-defined]
    return store
