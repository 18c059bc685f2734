"""Model packs and how a name in the settings becomes one."""

from __future__ import annotations

from pathlib import Path

from peoplegraph.engine.pack import FaceModelPack, ModelPackError
from peoplegraph.settings import Settings

INSIGHTFACE_PACKS = ("buffalo_l", "buffalo_s", "antelopev2")
PACK_NAMES = ("yunet-sface", *INSIGHTFACE_PACKS)


def load_pack(settings: Settings) -> FaceModelPack:
    """The pack named by settings.model_pack, not yet prepared."""
    name = settings.model_pack
    if name == "yunet-sface":
        from peoplegraph.engine.packs.yunet_sface import YuNetSFacePack

        return YuNetSFacePack(settings.models_path, nms_threshold=settings.nms_threshold)
    folder = Path(name).expanduser()
    if name in INSIGHTFACE_PACKS or folder.is_dir():
        from peoplegraph.engine.packs.insightface_pack import InsightFacePack

        return InsightFacePack(name, settings.models_path, nms_threshold=settings.nms_threshold,
                               source=settings.model_source)
    raise ModelPackError(
        f"model_pack: unknown pack {name!r}; use one of {', '.join(PACK_NAMES)} or a folder holding a SCRFD "
        "detector and an ArcFace recognizer"
    )
