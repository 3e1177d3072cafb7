"""Pluggable parts that live outside vrag, named in settings as ``module:Class`` (tests only)."""

from __future__ import annotations

from typing import Any

from vrag.schema import Answer


class FirstHitGenerator:
    """Answers with the best hit's text, cited (a third-party generator)."""

    name = "first-hit"

    @classmethod
    def from_config(cls, cfg: Any, embedder: Any) -> "FirstHitGenerator":
        return cls()

    def answer(self, question: str, hits: list[Any], overview: bool = False, weak: bool = False) -> Answer:
        if not hits:
            return Answer("nothing", [], found=False, generator=self.name)
        top = hits[0]
        return Answer(top.text, [{"video_id": top.video_id, "path": top.path, "start": top.start, "end": top.end}],
                      generator=self.name)
