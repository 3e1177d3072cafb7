"""``vrag export`` (SRT, WebVTT, text, JSON of a video's speech or screen text), ``vrag clip`` (ffmpeg cuts
that play, stream-copied when the start is on a keyframe) and ``vrag ask --format markdown``, on a real
indexed lecture; subtitle files are read back with pysubs2, clips measured with ffprobe."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from urllib.parse import unquote, urlparse

import pysubs2
import pytest

from vrag.cli import main
from vrag.clip import keyframes
from vrag.export import render
from support.services import index_lecture


@pytest.fixture(scope="module")
def kb(tmp_path_factory, lecture):
    return index_lecture(lecture, tmp_path_factory.mktemp("export") / "kb")


def _export(kb, tmp_path, capsys, *args) -> str:
    out = tmp_path / "out.sub"
    assert main(["export", "lecture one.mp4", "--db", str(kb.store.path), "-o", str(out), *args]) == 0
    assert capsys.readouterr().err.strip() == f"wrote {out}"
    return out.read_text(encoding="utf-8")


@pytest.mark.parametrize("fmt", ["srt", "vtt"])
def test_speech_subtitles_parse_back_with_the_stored_times(kb, tmp_path, capsys, fmt):
    text = _export(kb, tmp_path, capsys, "--format", fmt)
    subs = pysubs2.SSAFile.from_string(text, format_=fmt)
    speech = kb.transcript("lecture one.mp4", modalities="asr")
    assert len(subs) == len(speech) == 3
    assert [(e.start, e.end) for e in subs] == [(round(s.start * 1000), round(s.end * 1000)) for s in speech]
    assert [e.plaintext for e in subs] == [" ".join(s.text.split()) for s in speech]
    spoken = " ".join(e.plaintext for e in subs).lower()
    assert "hot spot" in spoken and "thickness" in spoken and "springs" in spoken
    assert subs[0].start < 1500 and subs[2].start > 12_000  # the first and the third slide's narration


def test_screen_text_export(kb, tmp_path, capsys):
    subs = pysubs2.SSAFile.from_string(_export(kb, tmp_path, capsys, "--modality", "ocr"), format_="srt")
    shown = [e.plaintext for e in subs]
    assert any("Volcanoes of Hawaii" in t for t in shown) and any("Geothermal Power" in t for t in shown)
    assert subs[0].start < 500  # the first slide is on screen from the start


def test_text_and_json_exports(kb, tmp_path, capsys):
    lines = _export(kb, tmp_path, capsys, "--format", "txt").splitlines()
    assert len(lines) == 3 and lines[0].startswith("[00:00:00.") and "hot spot" in lines[0]
    doc = json.loads(_export(kb, tmp_path, capsys, "--format", "json"))
    assert doc["path"].endswith("lecture one.mp4") and doc["video_id"] == kb.videos()[0]["video_id"]
    assert [s["modality"] for s in doc["segments"]] == ["asr"] * 3 and doc["languages"] == ["en"]
    assert main(["export", "lecture one.mp4", "--db", str(kb.store.path), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out) == doc  # without -o: standard output


def test_speaker_and_language_where_known(kb):
    """Records that carry ``meta["speaker"]``/``meta["language"]`` (the speakers and languages stages) keep
    them in every format; records without them export as before."""
    row = kb.video("lecture one.mp4")
    segs = kb.transcript("lecture one.mp4", modalities="asr")
    segs[0].meta.update(speaker="Alice", language="en")
    segs[1].meta.update(speaker="Bob <guest>", language="en")
    raw = render(segs, "srt", row)
    srt = pysubs2.SSAFile.from_string(raw, format_="srt")
    assert len(srt) == 3 and srt[0].plaintext.startswith("Alice: ") and "\nBob <guest>: " in raw
    assert not srt[2].plaintext.startswith(("Alice", "Bob"))
    vtt = render(segs, "vtt", row)
    assert "<v Alice>" in vtt and "<v Bob &lt;guest&gt;>" in vtt and "Language: en" in vtt.split("\n\n")[0]
    assert len(pysubs2.SSAFile.from_string(vtt, format_="vtt")) == 3
    doc = json.loads(render(segs, "json", row))
    assert doc["languages"] == ["en"] and doc["segments"][0]["speaker"] == "Alice"
    assert "speaker" not in doc["segments"][2]
    segs[1].meta["language"] = "fr"
    vtt = render(segs, "vtt", row)
    assert "Language:" not in vtt and "<lang fr>" in vtt and "<lang en>" in vtt
    assert "(fr) Bob <guest>:" in render(segs, "txt", row)


def test_export_errors_are_one_line(kb, capsys):
    assert main(["export", "nope.mp4", "--db", str(kb.store.path)]) == 1
    assert capsys.readouterr().err.startswith("vrag: error: video 'nope.mp4': no video indexed in")
    with pytest.raises(SystemExit) as exc:
        main(["export", "lecture one.mp4", "--format", "docx"])
    assert exc.value.code == 2 and "invalid choice: 'docx'" in capsys.readouterr().err


def _duration(path: Path) -> float:
    out = subprocess.run(["ffprobe", "-v", "error", "-show_entries", "format=duration", "-of", "csv=p=0", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return float(out)


def _decodes(path: Path) -> None:
    done = subprocess.run(["ffmpeg", "-v", "error", "-i", str(path), "-f", "null", "-"], capture_output=True, text=True)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr


def test_clip_on_a_keyframe_is_a_stream_copy(kb, lecture, tmp_path, capsys):
    src, _ = lecture
    keys, _ = keyframes(src)
    assert keys[0] == 0.0
    out = tmp_path / "first.mp4"
    assert main(["clip", "lecture one.mp4", "--from", "0", "--to", "0:05", "-o", str(out), "--db", str(kb.store.path)]) == 0
    assert capsys.readouterr().out.strip() == f"wrote {out} (5.0 s, stream copy)"
    assert abs(_duration(out) - 5.0) < 0.35
    _decodes(out)


def test_clip_between_keyframes_is_re_encoded_to_the_exact_span(kb, lecture, tmp_path, capsys):
    src, spans = lecture
    keys, _ = keyframes(src)
    start = spans[1].start + 0.5
    assert all(abs(k - start) > 0.04 for k in keys)
    out = tmp_path / "second.mkv"
    assert main(["clip", "lecture one.mp4", "--from", f"{start:.2f}", "--to", f"{start + 4:.2f}", "-o", str(out),
                 "--db", str(kb.store.path)]) == 0
    assert "re-encoded" in capsys.readouterr().out
    assert abs(_duration(out) - 4.0) < 0.2
    _decodes(out)
    audio = tmp_path / "second.m4a"
    assert main(["clip", "lecture one.mp4", "--from", "2", "--to", "3.5", "-o", str(audio), "--db", str(kb.store.path)]) == 0
    assert abs(_duration(audio) - 1.5) < 0.15


@pytest.mark.parametrize("args, message", [
    (["--from", "5", "--to", "2", "-o", "x.mp4"], "--from 5 --to 2: the end must come after the start"),
    (["--from", "1:00", "--to", "1:10", "-o", "x.mp4"], "--from 60: "),
    (["--from", "0", "--to", "2", "-o", "x.txt"], "-o x.txt: use a media file name"),
    (["--from", "0", "--to", "2", "-o", "/no/such/dir/x.mp4"], "-o /no/such/dir/x.mp4: the folder /no/such/dir does not exist"),
    (["--from", "soon", "--to", "2", "-o", "x.mp4"], "--from: not a time: 'soon'"),
])
def test_clip_errors_are_one_line(kb, capsys, args, message):
    assert main(["clip", "lecture one.mp4", "--db", str(kb.store.path), *args]) == 1
    err = capsys.readouterr().err
    assert err.startswith("vrag: error: " + message) and err.count("\n") == 1, err


def test_clip_refuses_to_overwrite_its_source(kb, lecture, capsys):
    src, _ = lecture
    assert main(["clip", "lecture one.mp4", "--from", "0", "--to", "2", "-o", str(src), "--db", str(kb.store.path)]) == 1
    assert "that is the source file" in capsys.readouterr().err


def test_ask_markdown_links_each_citation_to_its_moment(kb, lecture, capsys):
    src, _ = lecture
    question = "How much thickness does the largest glacier lose every year?"
    assert main(["ask", question, "--format", "markdown", "--db", str(kb.store.path)]) == 0
    md = capsys.readouterr().out
    assert "**Sources**" in md and "meter" in md.split("**Sources**")[0].lower()
    links = [line for line in md.splitlines() if line.startswith("1. [")]
    assert links, md
    label, url = links[0][3:].split("](")
    assert label.startswith("[lecture one.mp4 @ 00:0")
    parsed = urlparse(url.rstrip(")"))
    assert parsed.scheme == "file" and Path(unquote(parsed.path)) == src
    start, end = (float(x) for x in parsed.fragment.removeprefix("t=").split(","))
    assert 6.0 < start < end < 14.0  # the glacier narration, on the second slide


def test_ui_offers_a_clip_download_for_every_cited_span(kb, lecture, monkeypatch):
    """The web UI's answer shows a "⬇ clip" beside each source; pressing it cuts that span (deferred)."""
    st_testing = pytest.importorskip("streamlit.testing.v1", reason="the UI needs streamlit: pip install 'vrag[ui]'")
    monkeypatch.setenv("VRAG_DB", str(kb.store.path))
    monkeypatch.setenv("VRAG_STAGES", "shot,asr,ocr")
    at = st_testing.AppTest.from_file(str(Path(__file__).resolve().parents[1] / "ui" / "app.py"), default_timeout=120)
    at.run()
    at.text_input(key="query").input("How much thickness does the largest glacier lose every year?").run()
    assert not at.exception, at.exception
    downloads = [e for e in at.get("download_button")]
    assert downloads, [type(e).__name__ for e in at.main]
    proto = downloads[0].proto
    assert proto.label == "⬇ clip" and proto.help.startswith("download 00:0")
    # what the button sends: the cited span, cut when pressed, a clip that plays
    from vrag.ui import widgets
    from vrag.ui.media import MediaGuard

    sent = {}
    monkeypatch.setattr(widgets.st, "download_button", lambda label, data, **kw: sent.update(kw, data=data))
    cited = kb.ask("How much thickness does the largest glacier lose every year?").citations[0]
    ctx = widgets.Context(kb, None, {r["video_id"]: r for r in kb.store.videos.all()}, MediaGuard.for_kb(kb))
    widgets.clip_download(ctx, cited, key="clip-0")
    assert sent["file_name"].startswith("lecture one 00.0") and sent["file_name"].endswith(".mp4")
    clip = Path(kb.store.path).parent / sent["file_name"]
    clip.write_bytes(sent["data"]())
    assert abs(_duration(clip) - (cited["end"] - cited["start"])) < 0.35
    _decodes(clip)
