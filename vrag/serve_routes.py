"""The routes of ``vrag serve`` (see :mod:`vrag.serve`); FastAPI is imported by whoever imports this."""

from __future__ import annotations

import mimetypes
import os
from typing import TYPE_CHECKING, Annotated, Any, Optional, Union

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

from . import service_ops as ops
from .errors import VragError

if TYPE_CHECKING:
    from .kb import KnowledgeBase

__all__ = ["add_routes", "NotFound", "find_video", "media_response"]


class NotFound(VragError):
    """The named video or job does not exist (HTTP 404)."""


def find_video(kb: KnowledgeBase, video_id: str) -> dict[str, Any]:
    """The stored row of an indexed video, or :class:`NotFound` (404)."""
    try:
        return kb.video(video_id)
    except VragError as exc:
        raise NotFound(str(exc)) from None


def media_response(kb: KnowledgeBase, video_id: str) -> Any:
    """The indexed file of ``video_id`` (range requests answered with 206); 404 for anything else."""
    from fastapi.responses import FileResponse

    row = find_video(kb, video_id)
    if video_id != row["video_id"]:
        raise NotFound(f"video {video_id!r}: /media takes a video id (see GET /videos)")
    path = row["abs_path"]
    if not os.path.isfile(path):
        raise NotFound(f"video {video_id}: its file {path} is no longer there")
    kind = mimetypes.guess_type(path)[0] or "application/octet-stream"
    return FileResponse(path, media_type=kind, filename=os.path.basename(path), content_disposition_type="inline")


class AskBody(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    question: str
    k: int = 8
    mode: str = "auto"
    video: Optional[list[str]] = None
    modality: Optional[list[str]] = None
    start: Optional[Union[str, float]] = Field(None, alias="from")
    end: Optional[Union[str, float]] = Field(None, alias="to")


class IndexBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    paths: list[str] = Field(min_length=1, description="files or folders on the server's machine")
    prune: bool = False


def add_routes(app: Any, kb: KnowledgeBase) -> None:
    from .serve_jobs import IndexJobs

    jobs = IndexJobs(kb)
    app.state.jobs = jobs

    @app.get("/search", summary="find the moments that match a query (vrag search --json)")
    def search(q: Annotated[str, Query(description="the query")] = "", k: int = 10, mode: str = "auto",
               video: Annotated[Optional[list[str]], Query()] = None,
               modality: Annotated[Optional[list[str]], Query()] = None,
               start: Annotated[Optional[str], Query(alias="from")] = None,
               end: Annotated[Optional[str], Query(alias="to")] = None) -> dict:
        return ops.search_json(kb, q, k, mode, video, modality, start, end)

    @app.post("/ask", summary="answer a question citing video and time span (vrag ask --json)")
    def ask(body: AskBody) -> dict:
        return ops.ask_json(kb, body.question, body.k, body.mode, body.video, body.modality, body.start, body.end)

    @app.get("/status", summary="what is indexed (vrag status --json)")
    def status() -> dict:
        return ops.status_json(kb)

    @app.get("/videos", summary="the indexed videos")
    def videos() -> dict:
        return {"videos": ops.videos_json(kb)}

    @app.get("/videos/{video_id}/transcript", summary="a video's speech and screen text in a time range")
    def transcript(video_id: str, start: Annotated[Optional[str], Query(alias="from")] = None,
                   end: Annotated[Optional[str], Query(alias="to")] = None,
                   modality: Annotated[Optional[list[str]], Query()] = None) -> dict:
        find_video(kb, video_id)
        return ops.transcript_json(kb, video_id, start, end, modality)

    @app.post("/index", status_code=202, summary="index files or folders in the background; poll GET /jobs/{id}")
    def index(body: IndexBody) -> dict:
        from fastapi import HTTPException

        from .serve_jobs import JobBusy

        try:
            return jobs.start(body.paths, body.prune)
        except JobBusy as exc:
            raise HTTPException(409, str(exc)) from None

    @app.get("/jobs/{job_id}", summary="an index job: status, progress, per-file results")
    def job(job_id: str) -> dict:
        found = jobs.get(job_id)
        if found is None:
            raise NotFound(f"no index job {job_id!r}")
        return found

    @app.get("/media/{video_id}", summary="the indexed media file (HTTP range requests: 206 + Content-Range)")
    def media(video_id: str) -> Any:
        return media_response(kb, video_id)
