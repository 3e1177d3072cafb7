"""Voice encoders: one embedding per short window of speech, for telling speakers apart.

The default is resemblyzer's GE2E encoder (a 3-layer LSTM over 40-band mel frames; its weights ship
inside the wheel). Windows are embedded in batches straight from the mel frames of each speech span,
so the file is read once and silence between spans costs nothing.

On a CPU the encoder runs on ONNX Runtime (``voice_runtime``): the LSTM is exported once, on first use
(torch and ``onnx`` needed then), into the model cache (:mod:`.onnx_export`), and from then on a fresh
process embeds voices without importing torch (3-4 s and ~150 MB of a fresh index, bench-speed). The
vectors are torch's (cosine >= 0.9999, tests/test_voice_onnx.py). Without onnxruntime, or where the
export cannot be made, torch runs it.
"""

from __future__ import annotations

from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator, Sequence

from ..config import Config
from ..errors import BackendError
from ..registry import register, require
from . import Lazy

__all__ = ["ResemblyzerEncoder", "FRAME_SECONDS", "mel_frames", "normalize_volume", "voice_onnx_path",
           "export_voice_onnx"]

#: resemblyzer's mel hop: 10 ms frames.
FRAME_SECONDS = 0.01
#: Windows are embedded this many at a time (bounded memory on long files).
_BATCH = 256
#: ... on ONNX Runtime: its LSTM ran 256 windows in 0.95 s CPU as batches of 16, 1.4-1.6 s as one
#: batch (one thread; 4 to 32 within 10% of 16).
_ONNX_BATCH = 16
#: resemblyzer's mel spectrogram (its hparams): 25-ms Hann windows every 10 ms, 40 bands, 16 kHz.
_RATE, _N_FFT, _HOP, _BANDS = 16000, 400, 160, 40
#: Mel frames computed per block (bounded memory on long files).
_MEL_BLOCK = 8192


def mel_frames(wav: Any) -> Any:
    """(frames, 40) float32 power mel spectrogram of 16 kHz ``wav``: what ``resemblyzer.audio.wav_to_mel_spectrogram``
    computes through librosa, in numpy alone. Importing librosa's spectral code (numba) cost ~4 s of a fresh
    process's speaker stage on 2 cores (bench-speed); tests/test_index_speed.py checks both agree."""
    import numpy as np

    padded = np.pad(np.asarray(wav, dtype=np.float32), _N_FFT // 2)
    count = 1 + (len(padded) - _N_FFT) // _HOP if len(padded) >= _N_FFT else 0
    frames = np.lib.stride_tricks.sliding_window_view(padded, _N_FFT)[::_HOP][:count]
    window = (0.5 - 0.5 * np.cos(2 * np.pi * np.arange(_N_FFT) / _N_FFT)).astype(np.float32)  # periodic Hann
    basis = _mel_basis()
    out = np.empty((count, _BANDS), np.float32)
    for at in range(0, count, _MEL_BLOCK):
        spectrum = np.fft.rfft(frames[at:at + _MEL_BLOCK] * window, axis=1)
        out[at:at + _MEL_BLOCK] = (spectrum.real ** 2 + spectrum.imag ** 2) @ basis.T
    return out


def _mel_basis() -> Any:
    """librosa.filters.mel(sr=16000, n_fft=400, n_mels=40): Slaney mel scale, Slaney area normalisation."""
    import numpy as np

    def hz_to_mel(hz: Any) -> Any:
        hz = np.asarray(hz, dtype=np.float64)
        mel = hz / (200.0 / 3)
        log = hz >= 1000.0
        return np.where(log, 15.0 + np.log(np.maximum(hz, 1e-10) / 1000.0) / (np.log(6.4) / 27.0), mel)

    def mel_to_hz(mel: Any) -> Any:
        hz = mel * (200.0 / 3)
        return np.where(mel >= 15.0, 1000.0 * np.exp((np.log(6.4) / 27.0) * (mel - 15.0)), hz)

    fft_hz = np.fft.rfftfreq(_N_FFT, 1.0 / _RATE)
    mel_hz = mel_to_hz(np.linspace(hz_to_mel(0.0), hz_to_mel(_RATE / 2), _BANDS + 2))
    ramps = np.subtract.outer(mel_hz, fft_hz)
    gaps = np.diff(mel_hz)
    lower, upper = -ramps[:-2] / gaps[:-1, None], ramps[2:] / gaps[1:, None]
    weights = np.maximum(0.0, np.minimum(lower, upper))
    weights *= (2.0 / (mel_hz[2:] - mel_hz[:-2]))[:, None]
    return weights.astype(np.float32)


def _webrtcvad_or_stand_in() -> None:
    """resemblyzer imports ``webrtcvad`` when it is imported, for a silence trimmer vrag never calls. The
    PyPI ``webrtcvad`` 2.0.10 module reads its own version through ``pkg_resources``, which setuptools 81+
    no longer ships; where it cannot be imported, a stand-in that refuses to be used takes its place."""
    import sys
    import types

    try:
        import webrtcvad  # noqa: F401
    except Exception as exc:  # ImportError, or pkg_resources missing inside it
        stand_in = types.ModuleType("webrtcvad")
        reason = f"webrtcvad cannot be imported ({exc}); vrag does not use it"

        def __getattr__(name: str) -> Any:  # noqa: N807 (the module hook)
            if name.startswith("__"):
                raise AttributeError(name)
            raise ImportError(f"webrtcvad.{name}: {reason}")

        stand_in.__getattr__ = __getattr__  # type: ignore[attr-defined]
        sys.modules["webrtcvad"] = stand_in


def normalize_volume(wav: Any, target_dbfs: float, increase_only: bool = False) -> Any:
    """``resemblyzer.audio.normalize_volume`` (the same operations, so the same numbers), without
    importing resemblyzer: its package imports torch."""
    import numpy as np

    int16_max = (2 ** 15) - 1
    rms = np.sqrt(np.mean((wav * int16_max) ** 2))
    change = target_dbfs - 20 * np.log10(rms / int16_max)
    if change < 0 and increase_only:
        return wav
    return wav * (10 ** (change / 20))


def voice_onnx_path(cache: str = "") -> Path:
    """Where the ONNX export of resemblyzer's encoder lives (named by the wheel's version)."""
    from .onnx_export import versioned_path

    return versioned_path("resemblyzer", "resemblyzer", cache)


def export_voice_onnx(model: Any, target: Path) -> Path:
    """Export ``model`` (resemblyzer's VoiceEncoder) to ``target`` as ``mels (n, frames, 40) -> embeds (n, 256)``."""
    from importlib.util import find_spec

    from .onnx_export import atomic_export, torch_export

    if find_spec("onnx") is None:
        raise BackendError("exporting the voice encoder to ONNX needs the Python module 'onnx'")
    import torch

    example = (torch.zeros(2, 160, _BANDS),)
    axes = {"mels": {0: "n", 1: "frames"}, "embeds": {0: "n"}}
    return atomic_export(target, "voice encoder",
                         lambda tmp: torch_export(model, example, tmp, ["mels"], ["embeds"], axes))


@contextmanager
def _one_torch_thread() -> Iterator[None]:
    """Torch's operators on one thread inside the block: the LSTM's small matrices gain nothing from
    more, and on a busy machine several threads were 5-10x slower (measured)."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        with torch.no_grad():
            yield
    finally:
        torch.set_num_threads(threads)


@register("voice", "resemblyzer")
class ResemblyzerEncoder:
    """``embed(samples, spans)``: unit-length 256-d voice vectors of windows inside speech spans."""

    settings = ("device", "voice_runtime", "asr_model_cache")
    producer = "resemblyzer:ge2e-256"
    dim = 256

    def __init__(self, cfg: Config):
        from . import resolve_device

        self.onnx = resolve_device(cfg.device) == "cpu" and str(cfg.voice_runtime) == "onnxruntime"
        self.cache = str(cfg.asr_model_cache)
        self._model = Lazy(self._create)
        self._session = Lazy(self._create_onnx)

    def load(self) -> Any:
        """The ONNX Runtime session when it can be had, else the torch model."""
        return self._session.get() or self._model.get()

    def _create_onnx(self) -> Any:
        """The ONNX Runtime session of the encoder, exported once into the model cache; False when
        onnxruntime is missing or the export cannot be made (then torch runs it)."""
        if not self.onnx:
            return False
        from .onnx_export import cpu_session, exported_or_none

        path = voice_onnx_path(self.cache)
        return exported_or_none(path, lambda: export_voice_onnx(self._model.get(), path),
                                lambda: cpu_session(path, 1, "voice encoder"), needs=("onnx", "torch"))

    @staticmethod
    def _create() -> Any:
        require("torch", "Speaker turns (voice embeddings; or an ONNX export of the encoder in the model cache)",
                "audio")
        _webrtcvad_or_stand_in()
        mod = require("resemblyzer", "Speaker turns (voice embeddings)", "audio")
        try:
            return mod.VoiceEncoder("cpu", verbose=False)
        except Exception as exc:
            raise BackendError(f"cannot load the resemblyzer voice encoder: {exc}") from exc

    def embed(self, samples: Any, windows: Sequence[tuple[float, float]], offset: float = 0.0) -> Any:
        """One unit vector per ``(start, end)`` window (seconds on the media's timeline) of 16 kHz mono
        ``samples`` that start at ``offset``; windows of one length are run as one batch."""
        import numpy as np

        model = self.load()
        mel = mel_frames(normalize_volume(np.asarray(samples, dtype=np.float32), -30, increase_only=True))
        out = np.zeros((len(windows), self.dim), np.float32)
        try:
            if self._session.get():
                for rows, batch in _batches(mel, windows, offset, _ONNX_BATCH):
                    out[rows] = model.run(None, {"mels": batch})[0]
                return out
            import torch

            with _one_torch_thread():
                for rows, batch in _batches(mel, windows, offset, _BATCH):
                    out[rows] = model(torch.from_numpy(batch)).numpy()
        except Exception as exc:
            raise BackendError(f"the voice encoder failed: {exc}") from exc
        return out


def _batches(mel: Any, windows: Sequence[tuple[float, float]], offset: float, size: int
             ) -> Iterator[tuple[list[int], Any]]:
    """(rows, (n, frames, 40) float32 mel windows of one length), at most ``size`` rows at a time."""
    import numpy as np

    by_length: dict[int, list[tuple[int, int]]] = {}
    for i, (a, b) in enumerate(windows):
        first = max(0, int(round((a - offset) / FRAME_SECONDS)))
        n = max(1, int(round((b - a) / FRAME_SECONDS)))
        if first + n > len(mel):
            first = max(0, len(mel) - n)
        by_length.setdefault(min(n, len(mel) - first), []).append((i, first))
    for n, items in by_length.items():
        if n <= 0:
            continue
        for lo in range(0, len(items), size):
            part = items[lo:lo + size]
            yield [i for i, _ in part], np.ascontiguousarray(np.stack([mel[first:first + n] for _, first in part]))
