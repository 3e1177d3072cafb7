"""Chat models behind LangChain, for the opt-in LLM/VLM features, and a disk cache of their replies.

One endpoint description serves every feature: ``vlm_*`` settings for keyframe captions,
``llm_*`` settings for graph extraction and answers. Providers: ``openai`` (any
OpenAI-compatible server: vLLM, llama.cpp server, LM Studio, OpenAI) and ``ollama``.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ..config import Config
from ..errors import ConfigError
from ..registry import require

__all__ = ["ChatEndpoint", "ReplyCache", "reply_text"]


@dataclass(frozen=True)
class ChatEndpoint:
    provider: str
    model: str
    base_url: str
    key_env: str
    timeout: float
    retries: int

    @classmethod
    def from_config(cls, cfg: Config, prefix: str, feature: str) -> "ChatEndpoint":
        """The endpoint in ``{prefix}_provider``, ``{prefix}_model``, ... ; errors name what is missing."""
        endpoint = cls(
            provider=str(cfg[f"{prefix}_provider"]), model=str(cfg[f"{prefix}_model"]),
            base_url=str(cfg[f"{prefix}_base_url"]), key_env=str(cfg[f"{prefix}_api_key_env"]),
            timeout=float(cfg[f"{prefix}_timeout"]), retries=int(cfg[f"{prefix}_retries"]),
        )
        if not endpoint.model:
            raise ConfigError(f"{feature} needs {prefix}_model (and {prefix}_base_url for a local server)")
        if endpoint.provider not in ("openai", "ollama"):
            raise ConfigError(f"{prefix}_provider={endpoint.provider!r}: valid: openai, ollama")
        return endpoint

    @property
    def where(self) -> str:
        return self.base_url or self.provider

    def client(self, feature: str) -> Any:
        """A LangChain chat model (deterministic: temperature 0)."""
        if self.provider == "openai":
            mod = require("langchain_openai", f"{feature} (OpenAI-compatible)", "llm")
            return mod.ChatOpenAI(
                model=self.model, base_url=self.base_url or None,
                api_key=os.environ.get(self.key_env) or "not-needed",
                timeout=self.timeout, max_retries=self.retries, temperature=0,
            )
        mod = require("langchain_ollama", f"{feature} (Ollama)", "llm")
        return mod.ChatOllama(model=self.model, base_url=self.base_url or None, temperature=0,
                              client_kwargs={"timeout": self.timeout})


def reply_text(reply: Any) -> str:
    """The text of a chat reply, whitespace-normalised (content may be a list of parts)."""
    content = reply.content
    text = content if isinstance(content, str) else " ".join(
        p.get("text", "") for p in content if isinstance(p, dict)
    )
    return " ".join(text.split())


class ReplyCache:
    """A small JSON file of replies by request hash, written once per video, so re-runs after a
    failure only ask for what is missing."""

    def __init__(self, path: Path):
        self.path = path
        try:
            self.data: dict[str, str] = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.data = {}
        self.dirty = False

    def get(self, key: str) -> str | None:
        return self.data.get(key)

    def put(self, key: str, value: str) -> None:
        self.data[key] = value
        self.dirty = True

    def save(self) -> None:
        if self.dirty:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            tmp = self.path.with_suffix(".tmp")
            tmp.write_text(json.dumps(self.data, ensure_ascii=False), encoding="utf-8")
            tmp.replace(self.path)
            self.dirty = False
