"""A model pack's manifest: which file plays which role, and the sha256 it must have.

Packs declare their files instead of guessing from tensor shapes, and refuse to run on a file whose
hash differs from the one recorded when it was made.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from peoplegraph.engine.pack import ModelPackError

MANIFEST_NAME = "manifest.json"


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


@dataclass(frozen=True)
class ModelFile:
    role: str  # "detector" or "recognizer"
    file: str  # name inside the pack folder
    sha256: str
    source: str = ""  # where it came from (wheel member, URL)
    source_sha256: str = ""
    recipe: str = ""  # how the file was made from its source (convert.recipe)


# The thresholds a manifest may carry, each tuned for the pack's own embedding space (cosine similarity,
# -1..1; detection 0-1): a pack without one uses the settings' derivation from cluster_similarity.
THRESHOLDS = ("detection_threshold", "cluster_similarity", "auto_threshold", "review_threshold", "search_similarity")


@dataclass(frozen=True)
class Manifest:
    pack: str
    files: tuple[ModelFile, ...]
    thresholds: dict[str, float] = field(default_factory=dict)

    def file(self, role: str) -> ModelFile:
        for entry in self.files:
            if entry.role == role:
                return entry
        raise ModelPackError(f"model pack {self.pack!r}: its manifest names no {role} file")

    def write(self, folder: Path) -> None:
        payload = {"pack": self.pack, "files": [asdict(f) for f in self.files], "thresholds": self.thresholds}
        tmp = folder / (MANIFEST_NAME + ".tmp")
        tmp.write_text(json.dumps(payload, indent=2) + "\n")
        tmp.replace(folder / MANIFEST_NAME)

    @classmethod
    def read(cls, folder: Path) -> Manifest | None:
        path = folder / MANIFEST_NAME
        if not path.is_file():
            return None
        try:
            payload = json.loads(path.read_text())
            thresholds = {str(k): float(v) for k, v in payload.get("thresholds", {}).items()}
            unknown = sorted(set(thresholds) - set(THRESHOLDS))
            if unknown:
                raise ValueError(f"unknown thresholds {', '.join(unknown)}")
            return cls(pack=payload["pack"], files=tuple(ModelFile(**f) for f in payload["files"]), thresholds=thresholds)
        except ValueError as exc:  # not JSON, or a bad threshold
            why = str(exc)
        except (KeyError, TypeError, AttributeError):
            why = "it is not an object of a pack name and its files, each with role, file and sha256"
        raise ModelPackError(f"{path} is not a valid manifest ({why}); delete the folder to rebuild it")

    def verify(self, folder: Path) -> dict[str, Path]:
        """Paths by role, after checking that every file exists with its recorded sha256."""
        paths = {}
        for entry in self.files:
            path = folder / entry.file
            if not path.is_file():
                raise ModelPackError(f"model pack {self.pack!r}: {path} is missing")
            actual = file_sha256(path)
            if actual != entry.sha256:
                raise ModelPackError(
                    f"model pack {self.pack!r}: {path} has sha256 {actual}, the manifest says {entry.sha256}; "
                    "the file was changed or damaged: delete the folder to rebuild it"
                )
            paths[entry.role] = path
        return paths
