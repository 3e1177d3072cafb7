"""Indexers: each turns one video into :class:`vrag.Segment` records of one kind.

An indexer has ``name``, ``version`` and ``modality``, one required method
``index(video, ctx) -> Iterator[Segment]``, and optional ``setup(ctx)``/``close()``
so models load once. Indexers that look at pictures also implement
``on_frame(frame, ctx)``: the pipeline decodes each video once and hands every
sampled frame to them before calling ``index``.
"""

from .base import IndexContext, Indexer, Progress

__all__ = ["IndexContext", "Indexer", "Progress", "build_indexers"]


def build_indexers(stages):
    """Indexer instances for the configured stage names, in pipeline order."""
    from .asr import SpeechIndexer
    from .audio_events import AudioEventIndexer
    from .keyframes import KeyframeIndexer
    from .ocr import ScreenTextIndexer
    from .scenes import ShotIndexer

    table = {
        "shot": ShotIndexer,
        "ocr": ScreenTextIndexer,
        "frame": KeyframeIndexer,
        "asr": SpeechIndexer,
        "audio_event": AudioEventIndexer,
    }
    return [cls() for name, cls in table.items() if name in stages]
