"""The stores and the model pack of one process, opened once and shared by every caller.

milvus-lite and the embedded graph allow one process per data folder, so the API and an in-process
worker share one `Runtime`; calls into a store are serialised because neither embedded client is
documented as safe for concurrent use from several threads.
"""

from __future__ import annotations

import contextlib
import logging
import threading
import time
from collections.abc import Callable, Iterator
from functools import cached_property
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from peoplegraph.engine.pack import FaceModelPack
from peoplegraph.engine.packs import load_pack
from peoplegraph.identity.factory import open_graph_store
from peoplegraph.identity.store import GraphStore
from peoplegraph.media.cipher import MediaCipher
from peoplegraph.media.store import MediaStore
from peoplegraph.observations.factory import open_vector_store
from peoplegraph.observations.indexed import IndexedVectorStore
from peoplegraph.observations.journal import ChangeJournal
from peoplegraph.reid.packs import body_pack
from peoplegraph.services.bodies import BodyScanner
from peoplegraph.services.face_model import ModelBoundVectors
from peoplegraph.services.project_lock import ProjectLocks
from peoplegraph.settings import Settings

if TYPE_CHECKING:
    from peoplegraph.observations.bodies import MilvusBodyStore

T = TypeVar("T")
log = logging.getLogger(__name__)
# Auto-matching thresholds around the clustering one. On LFW with SFace (430 people with 3 confirmed
# faces, 3,674 new faces of them, 2,854 strangers): at +0.05 (0.55) 93.7 % of their new faces were tagged,
# 99.97 % rightly, and 1 stranger; from -0.05 (0.45) up, 5.3 % went to review.
MATCH_MARGIN = 0.05


class Serialized(Generic[T]):
    """Forwards method calls to `target` one at a time."""

    def __init__(self, target: T) -> None:
        self._target = target
        self._lock = threading.RLock()

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if not callable(attribute):
            return attribute

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                return attribute(*args, **kwargs)

        return call


class Runtime:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._pack_lock = threading.Lock()
        self._pack: FaceModelPack | None = None

    @property
    def pack(self) -> FaceModelPack:
        """The face model pack, prepared on first use (conversion or download happens once)."""
        with self._pack_lock:
            if self._pack is None:
                pack = load_pack(self.settings)
                pack.prepare(threads=self.settings.threads)
                self._pack = pack
            return self._pack

    @cached_property
    def graph(self) -> GraphStore:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        return Serialized(open_graph_store(self.settings))  # type: ignore[return-value]

    @cached_property
    def vectors(self) -> ModelBoundVectors:
        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        pack = self.pack
        store = open_vector_store(self.settings, pack.model_id, pack.embedding_dim)
        # several processes on shared stores see each other's writes through the journal in their Redis
        journal = ChangeJournal(self.settings.redis_url) if self.settings.redis_url else None
        indexed = IndexedVectorStore(store, self.settings.face_index_path, journal)
        return Serialized(ModelBoundVectors(indexed, self.graph, pack.name))  # type: ignore[return-value]

    @cached_property
    def body_scanner(self) -> BodyScanner:
        """The person detector and body pack (`body_pack`), prepared on first use."""
        return BodyScanner(self.settings).prepare()

    @cached_property
    def bodies(self) -> MilvusBodyStore:
        """The body collection of the `body_pack` model, beside the faces (same Milvus or milvus-lite folder)."""
        from peoplegraph.observations.bodies import MilvusBodyStore

        self.settings.data_dir.mkdir(parents=True, exist_ok=True)
        spec = body_pack(self.settings.body_pack)
        store = MilvusBodyStore(self.settings.milvus_target, spec.model_id, spec.dim, token=self.settings.milvus_token)
        return Serialized(store)  # type: ignore[return-value]

    @cached_property
    def media(self) -> MediaStore:
        """The media kept in DATA_DIR/media, encrypted when a media key is set (checked here: a wrong or
        misplaced key stops the process at start, not at the first photo)."""
        settings = self.settings
        cipher = MediaCipher.from_settings(settings.media_key, settings.media_key_file, settings.data_dir)
        return MediaStore(settings.data_dir / "media", cipher, max_pixels=settings.max_image_pixels,
                          max_bytes=settings.max_file_bytes)

    @cached_property
    def locks(self) -> ProjectLocks:
        """The per-project locks: in this process, or in the configured Redis, shared by every process."""
        return ProjectLocks(self.settings.redis_url)

    @property
    def detection_threshold(self) -> float:
        value = self.settings.detection_threshold
        return self.pack.detection_threshold if value is None else value

    @property
    def cluster_similarity(self) -> float:
        value = self.settings.cluster_similarity
        return self.pack.cluster_similarity if value is None else value

    def _threshold(self, name: str, derived: Callable[[], float]) -> float:
        """A threshold from the settings, else the pack's own (tuned for its embeddings), else `derived`."""
        value = getattr(self.settings, name)
        if value is None:
            value = getattr(self.pack, name, None)
        return derived() if value is None else value

    @property
    def auto_threshold(self) -> float:
        return self._threshold("auto_threshold", lambda: self.cluster_similarity + MATCH_MARGIN)

    @property
    def review_threshold(self) -> float:
        return self._threshold("review_threshold", lambda: self.cluster_similarity - MATCH_MARGIN)

    @property
    def search_similarity(self) -> float:
        return self._threshold("search_similarity", lambda: self.cluster_similarity)

    def close(self) -> None:
        for name in ("bodies", "vectors", "graph", "locks"):
            store = self.__dict__.pop(name, None)
            if store is not None:
                store.close()

    def __enter__(self) -> Runtime:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


@contextlib.contextmanager
def face_index_warming(runtime: Runtime) -> Iterator[None]:
    """While the block runs (a server, a worker), load every project's face index in a thread of its own
    (`warm_face_index` setting): a large library's index takes a while to open (about a minute at 1M faces),
    which the first search or action would otherwise wait for. Leaving the block stops it between projects
    and waits for the project it is loading."""
    if not runtime.settings.warm_face_index:
        yield
        return
    stop = threading.Event()

    def warm() -> None:
        try:
            for project in runtime.graph.projects():
                if stop.is_set():
                    return
                began = time.perf_counter()
                faces = runtime.vectors.project_faces(project)
                log.info("face index of project %r: %d faces ready in %.1f s", project, len(faces),
                         time.perf_counter() - began)
        except Exception:  # the first search opens it then, and reports what is wrong
            log.exception("warming the face index failed")

    thread = threading.Thread(target=warm, name="face-index-warming", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join()
