"""Where a knowledge base lives, and its files beside the tables (keyframe thumbnails, caches).

A knowledge base is a local directory or an object-store URI (``s3://bucket/kb``, ``gs://``,
``az://``; ``s3+ddb://`` for S3 with a DynamoDB commit store). LanceDB opens either; the
thumbnails go through :class:`KBFiles`:

* local: they live in the directory (``<db>/thumbs/<video_id>/<ms>.jpg``) and the keyframe
  indexer writes them in place;
* object storage: indexers write into a local work directory (:attr:`KBFiles.local_dir`, under the
  user cache directory), :meth:`KBFiles.publish` uploads a video's thumbnails once its records are
  committed, and readers (search UI, ``vrag reembed``, the VLM captioner) fetch them by their
  relative name. Caches of model replies stay in the local work directory.

Object-store options (endpoint, region, keys, ``allow_http``) are LanceDB's ``storage_options``,
given as the ``storage_options`` setting (``key=value,key=value``) or the standard environment
variables (``AWS_ACCESS_KEY_ID``, ``AWS_ENDPOINT_URL``, ``GOOGLE_APPLICATION_CREDENTIALS``,
``AZURE_STORAGE_ACCOUNT_NAME``, ...), which both LanceDB and the thumbnail store read.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
from collections import OrderedDict
from pathlib import Path, PurePosixPath
from typing import Any, Mapping
from urllib.parse import urlparse

from .errors import ConfigError, StoreError, StoreWriteError

__all__ = ["KBFiles", "THUMBS", "describe_remote_error", "is_remote", "lance_options", "parse_storage_options"]

#: Folder of keyframe thumbnails, relative to the knowledge base.
THUMBS = "thumbs"
_S3 = ("s3", "s3a", "s3+ddb")
_GCS = ("gs", "gcs")
_AZURE = ("az", "abfs", "abfss", "azure")
_TRUE = {"1", "true", "yes", "on"}
#: Thumbnails uploaded at once (each is a small PUT: latency-bound).
_UPLOADS = 8
#: Thumbnails of an object-store knowledge base kept in memory once read (the UI shows the same
#: ones on every rerun of a page; ~20 KB each).
_READ_CACHE = 512
#: Azurite's documented development account (azure_storage_use_emulator=true), as object_store uses it.
_AZURITE_ACCOUNT = "devstoreaccount1"
_AZURITE_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="


def is_remote(db: str | os.PathLike[str]) -> bool:
    """True for an object-store URI (``s3://...``); a plain path or ``file://`` URI is local."""
    scheme = urlparse(os.fspath(db)).scheme
    return "://" in os.fspath(db) and scheme not in ("", "file")


def parse_storage_options(text: str | Mapping[str, Any] | None, source: str = "storage_options") -> dict[str, str]:
    """``"aws_endpoint=http://127.0.0.1:9000,allow_http=true"`` (or a mapping) -> ``{key: value}``."""
    if not text:
        return {}
    if isinstance(text, Mapping):
        return {str(k).strip().lower(): str(v) for k, v in text.items()}
    out = {}
    for part in str(text).split(","):
        if not part.strip():
            continue
        key, sep, value = part.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{source}: {part.strip()!r} is not key=value (expected e.g. "
                              "'aws_endpoint=http://127.0.0.1:9000,allow_http=true')")
        out[key.strip().lower()] = value.strip()
    return out


def lance_options(options: Mapping[str, str]) -> dict[str, str]:
    """The options LanceDB gets: as given, plus Azurite's development account when
    ``azure_storage_use_emulator`` is set without one (LanceDB needs the name)."""
    out = dict(options)
    if str(out.get("azure_storage_use_emulator", "")).lower() in _TRUE and not _first(out, "azure_storage_account_name"):
        out["azure_storage_account_name"] = _AZURITE_ACCOUNT
    return out


def _first(options: Mapping[str, str], *keys: str) -> str | None:
    for key in keys:
        from_env = key.startswith(("aws_", "google_", "azure_"))  # not e.g. a stray TOKEN variable
        value = options.get(key) or (os.environ.get(key.upper()) if from_env else None)
        if value:
            return value
    return None


def _filesystem(scheme: str, options: Mapping[str, str]) -> Any:
    """A pyarrow file system for ``scheme`` configured from LanceDB-style options (or env vars)."""
    import pyarrow.fs as pafs

    if scheme in _S3:
        kw: dict[str, Any] = {}
        endpoint = _first(options, "aws_endpoint", "aws_endpoint_url", "endpoint", "endpoint_url")
        if endpoint:
            parsed = urlparse(endpoint)
            if parsed.scheme and parsed.netloc:
                kw["scheme"], kw["endpoint_override"] = parsed.scheme, parsed.netloc + parsed.path.rstrip("/")
            else:
                kw["endpoint_override"] = endpoint
                kw["scheme"] = "http" if (_first(options, "allow_http", "aws_allow_http") or "").lower() in _TRUE else "https"
        for ours, theirs in (("access_key", ("aws_access_key_id", "access_key_id")),
                             ("secret_key", ("aws_secret_access_key", "secret_access_key")),
                             ("session_token", ("aws_session_token", "session_token", "token")),
                             ("region", ("aws_region", "region", "aws_default_region"))):
            value = _first(options, *theirs)
            if value:
                kw[ours] = value
        return pafs.S3FileSystem(**kw)
    if scheme in _GCS:
        return pafs.GcsFileSystem()  # credentials: Google's defaults (GOOGLE_APPLICATION_CREDENTIALS, ...)
    if scheme in _AZURE:
        emulator = (_first(options, "azure_storage_use_emulator", "use_emulator") or "").lower() in _TRUE
        account = _first(options, "azure_storage_account_name", "account_name") or (
            _AZURITE_ACCOUNT if emulator else None)
        if not account:
            raise ConfigError(f"{scheme}:// knowledge base: set azure_storage_account_name in storage_options "
                              "or AZURE_STORAGE_ACCOUNT_NAME")
        kw = {"account_name": account}
        key = _first(options, "azure_storage_account_key", "account_key", "access_key") or (
            _AZURITE_KEY if emulator else None)
        if key:
            kw["account_key"] = key
        endpoint = _first(options, "azure_storage_endpoint", "azure_endpoint", "endpoint") or (
            os.environ.get("AZURITE_BLOB_STORAGE_URL", "http://127.0.0.1:10000") if emulator else None)
        if endpoint:  # e.g. Azurite: http://127.0.0.1:10000 (the account goes in the path)
            parsed = urlparse(endpoint)
            authority, web = parsed.netloc or endpoint, parsed.scheme or "https"
            kw.update(blob_storage_authority=authority, blob_storage_scheme=web,
                      dfs_storage_authority=authority, dfs_storage_scheme=web)
        return pafs.AzureFileSystem(**kw)
    raise ConfigError(f"{scheme}:// is not a supported knowledge-base location (use a directory, s3://, gs:// or az://)")


def _check_relative(rel: str) -> PurePosixPath:
    path = PurePosixPath(rel)
    if not rel or path.is_absolute() or ".." in path.parts or path.parts[0] != THUMBS:
        raise StoreError(f"{rel!r}: not a thumbnail path of this knowledge base")
    return path


class KBFiles:
    """The non-table files of one knowledge base (see the module docstring)."""

    def __init__(self, db: str | os.PathLike[str], storage_options: Mapping[str, str] | None = None):
        self.uri = os.fspath(db)
        self.remote = is_remote(self.uri)
        self.options = dict(storage_options or {})
        self._fs: Any = None
        self._cache: OrderedDict[str, bytes] = OrderedDict()  # object storage: recently read thumbnails
        if self.remote:
            parsed = urlparse(self.uri)
            self.scheme = parsed.scheme.lower()
            self._base = (parsed.netloc + parsed.path).rstrip("/")
            slug = re.sub(r"[^A-Za-z0-9._-]+", "_", self._base)[-60:]
            digest = hashlib.blake2b(self.uri.encode(), digest_size=6).hexdigest()
            cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
            self.local_dir = cache / "vrag" / "kb" / f"{self.scheme}-{slug}-{digest}"
        else:
            path = urlparse(self.uri).path if self.uri.startswith("file://") else self.uri
            self.local_dir = Path(path)

    @property
    def fs(self) -> Any:
        if self._fs is None:
            self._fs = _filesystem(self.scheme, self.options)
        return self._fs

    def _remote_path(self, rel: str | PurePosixPath) -> str:
        return f"{self._base}/{PurePosixPath(rel)}"

    # -- reading --------------------------------------------------------------------------
    def read(self, rel: str) -> bytes:
        """The bytes of a thumbnail named relative to the knowledge base (``thumbs/<id>/<ms>.jpg``);
        :class:`StoreError` when it is missing or unreadable."""
        path = _check_relative(rel)
        key = str(path)
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        try:
            if not self.remote:
                return (self.local_dir / path).read_bytes()
            with self.fs.open_input_stream(self._remote_path(path)) as f:
                data = f.read()
        except (OSError, ValueError) as exc:
            raise StoreError(f"{self.uri}: cannot read {rel}: {getattr(exc, 'strerror', None) or exc}") from exc
        self._cache[key] = data
        if len(self._cache) > _READ_CACHE:
            self._cache.popitem(last=False)
        return data

    def _forget(self, video_id: str) -> None:
        """Drop cached thumbnails of a video whose thumbnails this process rewrites or removes."""
        prefix = f"{THUMBS}/{video_id}/"
        for key in [k for k in self._cache if k.startswith(prefix)]:
            del self._cache[key]

    def fetch(self, rels: list[str]) -> None:
        """Object storage: copy these thumbnails into :attr:`local_dir` (for indexers that read
        files, such as the VLM captioner); local knowledge bases already have them there."""
        if not self.remote:
            return
        for rel in rels:
            target = self.local_dir / _check_relative(rel)
            if not target.is_file():
                try:
                    data = self.read(rel)
                except StoreError:
                    continue  # as locally: a missing thumbnail is skipped by its reader
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(data)

    # -- writing --------------------------------------------------------------------------
    def replace_thumbs(self, video_id: str, files: Mapping[str, bytes]) -> None:
        """Make ``files`` ({file name: JPEG bytes}) the video's thumbnails: new ones are written
        first, then the ones it no longer has are removed."""
        folder = PurePosixPath(THUMBS) / video_id
        self._forget(video_id)
        try:
            if not self.remote:
                target = self.local_dir / folder
                if not files:
                    shutil.rmtree(target, ignore_errors=True)
                    return
                target.mkdir(parents=True, exist_ok=True)
                for name, data in files.items():
                    (target / name).write_bytes(data)
                for old in target.iterdir():
                    if old.name not in files:
                        old.unlink()
                return
            import pyarrow.fs as pafs
            from concurrent.futures import ThreadPoolExecutor

            def upload(item: tuple[str, bytes]) -> None:
                with self.fs.open_output_stream(self._remote_path(folder / item[0])) as f:
                    f.write(item[1])

            with ThreadPoolExecutor(max_workers=_UPLOADS) as pool:  # one request each: overlap their latency
                list(pool.map(upload, files.items()))
            listing = self.fs.get_file_info(pafs.FileSelector(self._remote_path(folder), allow_not_found=True))
            for info in listing:
                if info.type == pafs.FileType.File and info.base_name not in files:
                    self.fs.delete_file(info.path)
        except OSError as exc:
            raise StoreWriteError(f"{self.uri}: cannot write the thumbnails of video {video_id[:12]}: "
                                  f"{exc.strerror or exc}; what was indexed before is kept: fix that and "
                                  "run the same command again") from exc

    def publish(self, video_id: str) -> None:
        """After the video's keyframe records are committed: object storage gets the thumbnails the
        keyframe indexer wrote into :attr:`local_dir`. Nothing to do for a local knowledge base."""
        if not self.remote:
            return
        staged = self.local_dir / THUMBS / video_id
        files = {f.name: f.read_bytes() for f in sorted(staged.iterdir())} if staged.is_dir() else {}
        self.replace_thumbs(video_id, files)

    def done_with(self, video_id: str) -> None:
        """Object storage: drop the video's local working copies (they are published or stale)."""
        if self.remote:
            shutil.rmtree(self.local_dir / THUMBS / video_id, ignore_errors=True)

    def delete_video(self, video_id: str) -> None:
        """Remove the video's thumbnails (missing ones are fine)."""
        if not self.remote:
            shutil.rmtree(self.local_dir / THUMBS / video_id, ignore_errors=True)
            return
        self.done_with(video_id)
        self._forget(video_id)
        try:
            self.fs.delete_dir(self._remote_path(PurePosixPath(THUMBS) / video_id))
        except FileNotFoundError:
            pass
        except OSError as exc:
            if "not found" not in str(exc).lower() and "does not exist" not in str(exc).lower():
                raise StoreWriteError(f"{self.uri}: cannot remove the thumbnails of video {video_id[:12]}: {exc}") from exc


_XML_ERROR = re.compile(r"<Code>([^<]+)</Code>\s*<Message>([^<]*)</Message>")
_REQUEST = re.compile(r"Error performing (\w+) (https?://[^/\s?]+)\S*.*?(after \d+ retries)?[^-]*- ([^,/]+)")
#: How LanceDB's object-store errors (S3, GCS, Azure) read.
_REMOTE_FAILURE = re.compile(r'Generic (S3|GCS|MicrosoftAzure|Azure|GoogleCloudStorage) error|store: "|RetryError|'
                             r"error sending request|ObjectStore")
_CONNECT = re.compile(r'ConnectError\("([^"]+)", ([^,\s]+)(?:.*?message: "([^"]+)")?')
_STATUS = re.compile(r"status: (\d{3})")


def is_remote_failure(exc: BaseException) -> bool:
    """True when ``exc`` is LanceDB failing to talk to the object store (unreachable, refused, denied)."""
    return bool(_REMOTE_FAILURE.search(str(exc)))


def describe_remote_error(exc: BaseException) -> str:
    """One readable line for an object-store error (LanceDB's are multi-line Rust debug dumps)."""
    text = str(exc)
    found = _XML_ERROR.search(text.replace('\\"', '"'))
    if found:
        return f"{found.group(1)}: {found.group(2)}".rstrip(": ")
    found = _REQUEST.search(text)
    if found:
        method, host, retries, reason = found.groups()
        return f"{method} {host} failed{' ' + retries if retries else ''}: {reason.strip()}"
    found = _CONNECT.search(text)
    if found:
        return f"cannot connect to {found.group(2)}: {found.group(3) or found.group(1)}"
    found = _STATUS.search(text)
    if found:
        return f"the object store answered HTTP {found.group(1)}"
    return " ".join(text.split())[:300]
