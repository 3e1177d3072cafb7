"""Indexing stages: each turns one video into :class:`vrag.Segment` records of its own modalities.

A stage is one class (:class:`Stage`) in one module, registered with
``@register("stage", name)`` from :mod:`vrag.registry` (third-party packages: the
``vrag.stages`` entry-point group). It declares its name, version, the settings in its
fingerprint, the modalities it writes and the stages it reads; its hooks (``setup``,
``on_frame``, ``run``, ``finish``, ``close``) default to doing nothing. The run decodes
each video once and hands every sampled frame to the stages that override ``on_frame``.
"""

from .base import IndexContext, Problem, Progress, Stage

__all__ = ["IndexContext", "Problem", "Progress", "Stage"]
