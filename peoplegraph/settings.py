"""The one typed settings object.

Every value comes from a `PEOPLEGRAPH_*` environment variable or the CLI flag of the same name
(`PEOPLEGRAPH_DATA_DIR` <-> `--data-dir`); nothing else in the code carries a tunable literal.
"""

from __future__ import annotations

from functools import cached_property
from pathlib import Path

import platformdirs
from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

GRAPH_SERVER_SCHEMES = ("bolt://", "bolt+s://", "bolt+ssc://", "neo4j://", "neo4j+s://", "neo4j+ssc://")


def default_data_dir() -> Path:
    return Path(platformdirs.user_data_dir("peoplegraph", appauthor=False))


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="PEOPLEGRAPH_", extra="forbid", validate_default=True)

    data_dir: Path = Field(
        default_factory=default_data_dir,
        description="Folder for the embedded stores, the model cache and the private Redis (a per-user data dir).",
    )
    model_pack: str = Field(
        default="yunet-sface",
        description="Face model pack: `yunet-sface` (offline default), `buffalo_l`, `buffalo_s`, `antelopev2`, "
        "or a folder holding a SCRFD detector and an ArcFace recognizer.",
    )
    model_source: Path | None = Field(
        default=None,
        description="A folder holding a known pack's files (buffalo_s: det_500m.onnx, w600k_mbf.onnx; a body "
        "pack's person-reidentification-retail-0277.xml and .bin, searched in its sub-folders too), used, each "
        "checked by sha256, before any download: the way to prepare a pack offline.",
    )
    body_pack: str = Field(
        default="intel-0277",
        description="Body (ReID) model pack: `intel-0277` (OpenVINO IR), `intel-0287` (OpenVINO IR), "
        "`intel-0267-onnx` (ONNX, rewritten to run in onnxruntime), `osnet-x0-25-market` or `osnet-x0-25-msmt17` "
        "(torchreid weights exported to ONNX once: the reid-train extra), or a folder `peoplegraph reid train` "
        "wrote. Files come from model_source or Open Model Zoo's download.",
    )
    body_reid: bool = Field(
        default=False,
        description="Ingest also finds people's bodies (YOLOX-Nano person boxes, each tied to the face inside it) "
        "and embeds them with body_pack, so that people whose face is hidden are found by their body within an "
        "event or time window. Turned on for a library already ingested, the next ingest adds the bodies of its "
        "photos.",
    )
    person_threshold: float = Field(
        default=0.5, ge=0.05, le=0.99,
        description="Person detector score (0-1) from which a box is a person.",
    )
    person_input_side: int = Field(
        default=512, ge=128, le=1280, multiple_of=32,
        description="Person detector input, in pixels a side (a multiple of 32): each photo is scaled to fit in "
        "it. Larger finds people smaller in the frame or half hidden, at more time a photo (on two cores about "
        "10 ms at 416, the side YOLOX-Nano was published for, 13 ms at 512, 22 ms at 640).",
    )
    body_auto_threshold: float = Field(
        default=0.75, ge=-1.0, le=1.0,
        description="Body matching: a body without a usable face whose cosine similarity (-1..1) to a person's "
        "bodies in the same event or time window reaches this is tagged as that person (method `body`).",
    )
    body_review_threshold: float = Field(
        default=0.6, ge=-1.0, le=1.0,
        description="Body matching: a similarity from this up to body_auto_threshold puts the body in the review "
        "queue.",
    )
    body_margin: float = Field(
        default=0.05, ge=0.0, le=1.0,
        description="Body matching: a body is tagged only when its best person beats the next one by this much "
        "similarity; closer, it goes to the review queue.",
    )
    body_time_window_h: float = Field(
        default=6.0, ge=0.0, le=24 * 7,
        description="Body matching: photos not in one event are compared by body only when their EXIF times are "
        "at most this many hours apart (clothes change between days); 0: events only.",
    )
    model_dir: Path | None = Field(
        default=None, description="Where model packs are cached and looked for (default: DATA_DIR/models)."
    )
    milvus_uri: str | None = Field(
        default=None,
        description="Milvus server URI (http://host:19530) or a local milvus-lite path (default: DATA_DIR/milvus.db).",
    )
    milvus_token: str = Field(default="", description="Milvus token (user:password) for a server; empty for none.")
    face_index_dir: Path | None = Field(
        default=None,
        description="Folder of this process's face index, the cache beside the vector store that clustering "
        "and search read (default: DATA_DIR/face-index). One process at a time: give each process sharing "
        "a DATA_DIR its own.",
    )
    media_key: str = Field(
        default="", repr=False,
        description="Encrypts the media peoplegraph keeps (uploaded originals, thumbnails, face crops) with "
        "AES-256-GCM: a base64 32-byte key (`peoplegraph media new-key`). Empty: stored as they are.",
    )
    media_key_file: Path | None = Field(
        default=None,
        description="A file holding the media key (base64), outside the data folder; instead of media_key.",
    )
    warm_face_index: bool = Field(
        default=True,
        description="`peoplegraph serve` and `peoplegraph worker` load every project's face index when they "
        "start (in the background), so the first search or action on a large library does not wait for it.",
    )
    graph_uri: str | None = Field(
        default=None,
        description="Graph store: a local path for the embedded engine (default: DATA_DIR/graph.lbug) or a "
        "bolt:// / neo4j:// URI for Neo4j.",
    )
    graph_user: str = Field(default="neo4j", description="Neo4j user (graph server only).")
    graph_password: str = Field(default="", description="Neo4j password (graph server only).")
    redis_url: str | None = Field(
        default=None,
        description="Redis for the ARQ job queue (redis://host:6379/0); unset: the app starts a private "
        "redis-server on a unix socket in DATA_DIR and stops it on exit.",
    )
    detection_threshold: float | None = Field(
        default=None,
        ge=0.0,
        le=1.0,
        description="Minimum detection score, 0-1 (default: the model pack's own).",
    )
    min_face_size: int = Field(
        default=20, ge=0, le=4096, description="Faces whose shorter box side is under this many pixels are dropped."
    )
    min_quality_face_size: int = Field(
        default=50, ge=0, le=4096,
        description="Quality: faces whose shorter box side is under this many pixels (0-4096 px) are flagged "
        "`small_face` (PhotoPrism's 50).",
    )
    blur_threshold: float = Field(
        default=35.0, ge=0.0, le=10_000.0,
        description="Quality: faces whose aligned 112x112 grey crop has a Laplacian variance under this "
        "(0-10000, grey levels squared) are flagged `blurry`.",
    )
    dark_luminance: float = Field(
        default=40.0, ge=0.0, le=255.0,
        description="Quality: mean face luminance (0-255) under which a face is flagged `poor_lighting`.",
    )
    bright_luminance: float = Field(
        default=215.0, ge=0.0, le=255.0,
        description="Quality: mean face luminance (0-255) over which a face is flagged `poor_lighting`.",
    )
    min_contrast: float = Field(
        default=12.0, ge=0.0, le=128.0,
        description="Quality: standard deviation of the face luminance (0-128 grey levels) under which a face "
        "is flagged `poor_lighting` (flat, washed-out).",
    )
    profile_yaw: float = Field(
        default=45.0, ge=0.0, le=90.0,
        description="Quality: faces turned by more than this many degrees of yaw (0-90) are flagged `profile`.",
    )
    sunglasses_eye_ratio: float = Field(
        default=0.35, ge=0.0, le=1.0,
        description="Quality: both eye regions darker than this fraction (0-1) of the cheeks' luminance, and "
        "flat, flag `sunglasses`.",
    )
    occlusion_threshold: float = Field(
        default=30.0, ge=0.0, le=255.0,
        description="Quality: colour distance (Lab a*b*, 0-255) between the cheeks and the mouth/chin region "
        "over which a face is flagged `occlusion` (a mask, a scarf, a hand).",
    )
    child_age: float = Field(
        default=13.0, ge=0.0, le=120.0,
        description="Faces whose estimated age (years, 0-120) is under this are marked `child` (packs with an "
        "age model only).",
    )
    cluster_similarity: float | None = Field(
        default=None,
        ge=-1.0,
        le=1.0,
        description="Cosine similarity, -1..1, above which two faces are linked when clustering (default: the "
        "model pack's own; thresholds are per model).",
    )
    auto_threshold: float | None = Field(
        default=None, ge=-1.0, le=1.0,
        description="Auto-matching: a new face whose match score (mean cosine to its 3 nearest confirmed faces of "
        "a person, -1..1) reaches this is tagged as that person (default: the model pack's own, else the clustering "
        "threshold + 0.05).",
    )
    review_threshold: float | None = Field(
        default=None, ge=-1.0, le=1.0,
        description="Auto-matching: a score from this up to auto_threshold puts the face in the review queue; "
        "below it the face waits for clustering (default: the model pack's own, else the clustering threshold - 0.05).",
    )
    search_similarity: float | None = Field(
        default=None, ge=-1.0, le=1.0,
        description="Selfie search: cosine similarity, -1..1, at which a face matches the selfie (default: the "
        "model pack's own, else its clustering threshold; lower values let whole clusters of look-alikes in).",
    )
    cluster_seed_min_face_size: int = Field(
        default=50, ge=0, le=4096,
        description="Faces whose shorter box side is under this many pixels (0-4096 px) may join a cluster but "
        "never start one (PhotoPrism's cluster-size idea).",
    )
    cluster_seed_min_quality: float = Field(
        default=20.0, ge=0.0, le=100.0,
        description="Faces whose quality score (0-100) is under this may join a cluster but never start one.",
    )
    nms_threshold: float = Field(
        default=0.3, ge=0.0, le=1.0,
        description="Overlap (intersection over union, 0-1) above which two detected boxes count as one face; "
        "the less confident box is dropped.",
    )
    min_cluster_size: int = Field(
        default=2, ge=1, le=10_000, description="Smallest group of faces reported as a cluster (faces)."
    )
    cluster_neighbors: int = Field(
        default=30, ge=1, le=1000, description="Neighbours per face in the clustering graph (k of the k-NN graph)."
    )
    max_image_pixels: int = Field(
        default=100_000_000,
        ge=1,
        description="Images with more pixels than this (width x height) are refused as possible decompression bombs.",
    )
    xmp_sidecar: str = Field(
        default="photo.jpg.xmp", pattern=r"^photo\.(jpg\.)?xmp$",
        description="The sidecar `peoplegraph xmp export` writes beside a photo: `photo.jpg.xmp` (digiKam, "
        "darktable) or `photo.xmp` (Lightroom, Capture One). Both are read on ingest.",
    )
    gone_clusters_kept: int = Field(
        default=10_000, ge=0, le=10_000_000,
        description="Clusters a run removed (merged, split away) remembered per project, the newest: an action or "
        "read on one of them answers 409 naming the clusters its faces are in now; on an older one, 404. Their "
        "ids are never given again either way.",
    )
    read_metadata: bool = Field(
        default=True,
        description="Ingest reads the people a photo's XMP names (sidecar or embedded: MWG face regions, "
        "PersonInImage, People keywords) and confirms the faces under their regions as those people (method "
        "`imported`).",
    )
    max_file_bytes: int = Field(
        default=200 * 1024 * 1024, ge=1, description="Files larger than this many bytes are refused."
    )
    min_free_disk_mb: int = Field(
        default=512, ge=0, description="Ingest stops cleanly, before writing its next batch, when the data "
        "folder's disk has fewer free megabytes (MiB) than this (0: never)."
    )
    detection_max_side: int = Field(
        default=1600,
        ge=160,
        le=8192,
        description="Photos are decoded at a reduced size so that the longer side is at most about this many "
        "pixels (JPEG draft mode); boxes are reported in full-size pixels.",
    )
    threads: int = Field(default=0, ge=0, le=256, description="Threads per model session (0: all cores).")
    host: str = Field(default="127.0.0.1", description="Address `peoplegraph serve` listens on.")
    port: int = Field(default=8000, ge=1, le=65535, description="Port `peoplegraph serve` listens on.")
    max_upload_bytes: int = Field(
        default=512 * 1024 * 1024, ge=1, description="Largest multipart upload the API accepts (bytes)."
    )
    graphql_max_depth: int = Field(
        default=10, ge=2, le=100, description="GraphQL: deepest nesting of fields a query may ask (levels, 2-100).")
    graphql_max_aliases: int = Field(
        default=50, ge=1, le=10_000, description="GraphQL: most aliases one query may use (1-10,000): each alias "
        "runs its field again.")
    graphql_max_tokens: int = Field(
        default=5_000, ge=100, le=1_000_000, description="GraphQL: most tokens (names, braces, values) one query "
        "may have (100-1,000,000).")
    graphql_time_budget_s: float = Field(
        default=30.0, gt=0, le=3600, description="GraphQL: seconds a query may run before it is answered with a "
        "TIME_BUDGET_EXCEEDED error and its remaining fields are not run (0-3,600; mutations run to the end).")
    graphql_max_query_bytes: int = Field(
        default=100_000, ge=1_000, le=10_000_000, description="GraphQL: largest request body, bytes "
        "(1,000-10,000,000).")
    session_hours: float = Field(
        default=12.0, gt=0, le=24 * 30, description="Browser sessions (the web UI): hours a sign-in lasts before "
        "the key is asked again (0-720).")
    share_searches_per_client: int = Field(
        default=10, ge=1, le=10_000, description="Share links: selfie searches a minute one client address may "
        "make on one link (1-10,000).")
    share_searches_per_link: int = Field(
        default=120, ge=1, le=100_000, description="Share links: selfie searches a minute on one link from everyone "
        "(1-100,000).")
    worker_concurrency: int = Field(default=2, ge=1, le=64, description="Jobs one worker runs at a time.")

    @model_validator(mode="after")
    def _review_below_auto(self) -> Settings:
        """A review threshold above its auto threshold would leave the scores between them undecided."""
        for review, auto in (("review_threshold", "auto_threshold"), ("body_review_threshold", "body_auto_threshold")):
            low, high = getattr(self, review), getattr(self, auto)
            if low is not None and high is not None and low > high:
                raise ValueError(f"{review} ({low}) is above {auto} ({high}): scores between them would be neither "
                                 "tagged nor queued; set the review threshold at or below the auto threshold")
        return self

    @field_validator("data_dir", "model_dir", "face_index_dir", "media_key_file", mode="after")
    @classmethod
    def _expand(cls, value: Path | None) -> Path | None:
        return value.expanduser().resolve() if value is not None else None

    @cached_property
    def models_path(self) -> Path:
        return self.model_dir or self.data_dir / "models"

    @property
    def local_url(self) -> str:
        """Where a browser on this machine reaches `peoplegraph serve` (a wildcard address as localhost)."""
        host = "127.0.0.1" if self.host in ("0.0.0.0", "::", "") else self.host
        return f"http://{host}:{self.port}"

    @property
    def face_index_path(self) -> Path:
        return self.face_index_dir or self.data_dir / "face-index"

    @property
    def milvus_target(self) -> str:
        return self.milvus_uri or str(self.data_dir / "milvus.db")

    @property
    def milvus_is_embedded(self) -> bool:
        return "://" not in self.milvus_target

    @property
    def graph_target(self) -> str:
        return self.graph_uri or str(self.data_dir / "graph.lbug")

    @property
    def graph_is_server(self) -> bool:
        return self.graph_target.startswith(GRAPH_SERVER_SCHEMES)
