"""Hostile media: odd but valid files are indexed with their real content; broken ones get one
line naming the file and the reason; the batch goes on and nothing indexed before is lost.

(Corrupt/truncated/empty/non-media files, unknown codecs, stills, sub-second videos and files that
vanish mid-run are in test_bad_input.py; plain silent videos and audio-only files in test_lifecycle.py.)
"""

from __future__ import annotations

import codecs
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from vrag import KnowledgeBase
from support.synth import Slide, make_color_video, make_lecture, render_slide

FFMPEG = ["ffmpeg", "-hide_banner", "-nostdin", "-loglevel", "error", "-y"]
CHANGED = "file changed while it was being indexed; nothing was written (index it again)"


def ffmpeg(*args: object) -> None:
    subprocess.run([*FFMPEG, *map(str, args)], check=True)


def by_name(results) -> dict:
    return {Path(r.path).name: r for r in results}


def videos(kb: KnowledgeBase) -> dict[str, dict]:
    """Stored video rows (with width/height/streams) by file name."""
    return {Path(v["path"]).name: v for v in kb.store.videos.all()}


def text_of(kb: KnowledgeBase, video_id: str, modality: str) -> str:
    return " ".join(s.text for s in kb.segments(video_id, modality)).lower()


# -- odd but valid: wrong extensions, VFR, rotation, many or no audio tracks, huge frames -------------


@pytest.fixture(scope="module")
def odd_folder(tmp_path_factory, lecture):
    d = tmp_path_factory.mktemp("odd")
    src, spans = lecture
    shutil.copy2(src, d / "mp4 named.webm")  # H.264/AAC in an MP4 container with a WebM name
    make_lecture([Slide(title="x", narration="Penguins huddle together to survive the polar winter.")],
                 d / "voice.mp3", audio_only=True)
    (d / "voice.mp3").rename(d / "mp3 named.mp4")

    # variable frame rate: slide 1 at 5 fps, slide 2 at 25 fps, slide 3 at 12.5 fps (timestamps carry it)
    a, b = spans[1].start, spans[2].start
    ffmpeg("-i", src, "-vf", f"select='if(lt(t,{a}),not(mod(n,5)),if(lt(t,{b}),1,not(mod(n,2))))'",
           "-vsync", "vfr", "-c:v", "libx264", "-preset", "ultrafast", "-c:a", "copy", d / "vfr.mkv")

    # a phone video: pixels stored sideways, a display matrix saying "turn me upright"
    work = tmp_path_factory.mktemp("odd-work")
    make_lecture([Slide(title="Sideways Phone Video", bullets=["Portrait recordings are rotated"],
                        narration="This clip was filmed with the phone held upright.")],
                 work / "upright.mp4", size=(640, 360))
    ffmpeg("-i", work / "upright.mp4", "-vf", "transpose=1", "-c:v", "libx264", "-preset", "ultrafast",
           "-c:a", "copy", work / "stored.mp4")
    ffmpeg("-i", work / "stored.mp4", "-c", "copy", "-metadata:s:v", "rotate=90", d / "rotated.mp4")

    # four audio tracks: a tone, silence, the speech (flagged default), another tone; and a silent twin
    make_lecture([Slide(title="Four Audio Tracks", min_seconds=5.0)], d / "no audio.mkv", size=(640, 360),
                 with_audio=False)
    make_lecture([Slide(title="x", narration="Otters hold hands while they sleep in the water.")],
                 work / "otters.wav", audio_only=True)
    ffmpeg("-i", d / "no audio.mkv", "-f", "lavfi", "-i", "sine=frequency=300:duration=5",
           "-f", "lavfi", "-i", "anullsrc=r=22050:cl=mono", "-i", work / "otters.wav",
           "-f", "lavfi", "-i", "sine=frequency=800:duration=5",
           "-map", "0:v", "-map", "1:a", "-map", "2:a", "-map", "3:a", "-map", "4:a", "-c:v", "copy", "-c:a", "aac",
           "-t", "5", "-disposition:a:0", "0", "-disposition:a:2", "default", d / "four tracks.mkv")

    return d


@pytest.fixture(scope="module")
def odd_kb(odd_folder, tmp_path_factory):
    kb = KnowledgeBase(tmp_path_factory.mktemp("odd-kb") / "kb", stages=("shot", "asr", "ocr"))
    return kb, by_name(kb.index([odd_folder]).results)


def test_wrong_extension_is_read_by_content(odd_kb):
    kb, results = odd_kb
    assert results["mp4 named.webm"].status == "indexed", results["mp4 named.webm"].reason
    assert results["mp3 named.mp4"].status == "indexed", results["mp3 named.mp4"].reason
    rows = videos(kb)
    webm, mp3 = rows["mp4 named.webm"], rows["mp3 named.mp4"]
    assert webm["has_video"] and webm["has_audio"] and webm["counts"]["shot"] == 3
    assert "largest glacier" in text_of(kb, webm["video_id"], "asr")
    assert "glacier retreat" in text_of(kb, webm["video_id"], "ocr")
    assert not mp3["has_video"] and mp3["counts"].get("ocr", 0) == 0 and mp3["counts"].get("shot", 0) == 0
    hits = kb.search("penguins in the polar winter", k=3, mode="naive", filters={"video_id": mp3["video_id"]}).hits
    assert hits and "huddle together to survive the polar winter" in hits[0].text.lower()


def test_variable_frame_rate_keeps_true_times(odd_kb, lecture):
    kb, results = odd_kb
    _, spans = lecture
    assert results["vfr.mkv"].status == "indexed", results["vfr.mkv"].reason
    row = videos(kb)["vfr.mkv"]
    assert row["duration"] == pytest.approx(spans[-1].end, abs=0.3)
    shots = [(s.start, s.end) for s in kb.segments(row["video_id"], "shot")]
    assert len(shots) == 3
    for (start, end), span in zip(shots, spans):  # cuts on the slide changes, at 5, 25 and 12.5 fps alike
        assert start == pytest.approx(span.start, abs=0.25) and end == pytest.approx(span.end, abs=0.3)
    ocr = kb.segments(row["video_id"], "ocr")
    for title, span in zip(("volcanoes of hawaii", "glacier retreat", "geothermal power"), spans):
        seg = next(s for s in ocr if title in s.text.lower())
        assert seg.start == pytest.approx(span.start, abs=0.5)
    said = next(s for s in kb.segments(row["video_id"], "asr") if "every single year" in s.text.lower())
    assert spans[1].start <= said.start and said.end <= spans[1].end + 0.3  # said while slide 2 is shown


def test_rotated_video_is_read_upright(odd_kb):
    kb, results = odd_kb
    assert results["rotated.mp4"].status == "indexed", results["rotated.mp4"].reason
    row = videos(kb)["rotated.mp4"]
    assert (row["width"], row["height"]) == (360, 640)  # as stored; the display matrix turns it upright
    assert "phone held upright" in text_of(kb, row["video_id"], "asr")
    (ocr,) = kb.segments(row["video_id"], "ocr")
    title, bullet = ocr.meta["lines"]  # read in display order: the title first, then the bullet
    assert "sideways phone video" in title["text"].lower() and "portrait recordings" in bullet["text"].lower()
    xs, ys = [p[0] for p in title["box"]], [p[1] for p in title["box"]]
    # boxes are fractions of the upright 640x360 picture: a line of text is wide, not tall
    assert (max(xs) - min(xs)) * 640 > 4 * (max(ys) - min(ys)) * 360
    assert max(ys) < min(p[1] for p in bullet["box"])


def test_speech_is_taken_from_the_default_of_four_audio_tracks(odd_kb):
    kb, results = odd_kb
    assert results["four tracks.mkv"].status == "indexed", results["four tracks.mkv"].reason
    row = videos(kb)["four tracks.mkv"]
    assert [s["type"] for s in row["streams"]] == ["video", "audio", "audio", "audio", "audio"]
    speech = text_of(kb, row["video_id"], "asr")
    assert "sleep in the water" in speech
    assert "four audio tracks" in text_of(kb, row["video_id"], "ocr")


def test_video_without_audio_is_indexed_with_a_warning(odd_kb):
    kb, results = odd_kb
    assert results["no audio.mkv"].status == "indexed"
    assert results["no audio.mkv"].reason == "asr: no audio track; speech skipped"
    row = videos(kb)["no audio.mkv"]
    assert not row["has_audio"] and row["counts"].get("asr", 0) == 0 and row["errors"] == []
    assert "four audio tracks" in text_of(kb, row["video_id"], "ocr")


@pytest.fixture(scope="module")
def huge_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("huge")
    # huge frames: 8000x8000 (64 MP; OCR must still read it) and 16384x64, two frames each
    render_slide(Slide(title="Enormous Canvas Title", bullets=["Eight thousand pixels wide"]),
                 size=(8000, 8000)).save(d / "huge.png")
    ffmpeg("-loop", "1", "-framerate", "5", "-i", d / "huge.png", "-frames:v", "2", "-vf", "format=yuv420p",
           "-c:v", "libx264", "-preset", "ultrafast", d / "huge 8000x8000.mp4")
    (d / "huge.png").unlink()
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=16384x64:rate=5", "-frames:v", "2", "-c:v", "libx264",
           "-preset", "ultrafast", d / "wide 16384x64.mkv")
    # a huge frame count: 60 000 frames (1000 fps for a minute)
    ffmpeg("-f", "lavfi", "-i", "color=c=navy:size=64x64:rate=1000", "-t", "60", "-c:v", "libx264",
           "-preset", "ultrafast", "-g", "10000", d / "60000 frames.mkv")
    return d


def test_huge_frames_and_huge_frame_counts_index_in_bounded_time_and_memory(huge_folder, tmp_path):
    db = tmp_path / "kb"
    # the CLI in a process of its own, which reports its peak memory when it is done
    code = ("import resource, sys; from vrag.cli import main; rc = main(sys.argv[1:]); "
            "print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024, file=sys.stderr); sys.exit(rc)")
    proc = subprocess.run([sys.executable, "-c", code, "index", str(huge_folder), "--db", str(db),
                           "--only", "shot,ocr", "--json"], capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    peak_mb = int(proc.stderr.strip().splitlines()[-1])
    assert peak_mb < 3000, f"peak memory {peak_mb} MB"  # models ~1 GB + one 64 MP frame, not the whole video
    results = {Path(f["path"]).name: f for f in json.loads(proc.stdout)["files"]}
    kb = KnowledgeBase(db)
    rows = videos(kb)
    for name, size in (("huge 8000x8000.mp4", (8000, 8000)), ("wide 16384x64.mkv", (16384, 64))):
        assert results[name]["status"] == "indexed" and results[name]["seconds"] < 60, results[name]
        assert (rows[name]["width"], rows[name]["height"]) == size
        assert rows[name]["duration"] == pytest.approx(0.4, abs=0.05)
    assert "enormous canvas title" in text_of(kb, rows["huge 8000x8000.mp4"]["video_id"], "ocr")
    many = results["60000 frames.mkv"]
    assert many["status"] == "indexed" and many["seconds"] < 30, many
    shots = [(s.start, s.end) for s in kb.segments(many["video_id"], "shot")]
    assert shots == [(0.0, pytest.approx(60.0, abs=0.01))]


# -- containers with nothing in them ---------------------------------------------------------------------


def test_containers_without_media_data_fail_in_one_line_and_keep_the_rest(tmp_path, lecture):
    src, _ = lecture
    d = tmp_path / "media"
    d.mkdir()
    shutil.copy2(src, d / "keeper.mp4")
    kb = KnowledgeBase(tmp_path / "kb", stages=("ocr",))
    assert kb.index([d]).ok
    before = [s.segment_id for s in kb.segments()]
    # ffmpeg -t 0: an MP4 with no tracks at all
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "0", d / "zero length.mp4")
    # a fragmented MP4 cut after its header: two tracks described, not one packet
    ffmpeg("-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-f", "lavfi", "-i", "sine", "-t", "1",
           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-c:a", "aac", "-movflags", "frag_keyframe+empty_moov",
           tmp_path / "frag.mp4")
    data = (tmp_path / "frag.mp4").read_bytes()
    (d / "header only.mp4").write_bytes(data[: data.find(b"moof") - 4])
    # a streamed Matroska file cut before its first cluster
    live = subprocess.run([*FFMPEG, "-f", "lavfi", "-i", "testsrc=size=320x240:rate=25", "-t", "1",
                           "-c:v", "libx264", "-pix_fmt", "yuv420p", "-f", "matroska", "-"],
                          check=True, capture_output=True).stdout
    (d / "header only.mkv").write_bytes(live[: live.find(bytes.fromhex("1F43B675"))])

    results = by_name(kb.index([d]).results)
    assert {n: (r.status, r.reason) for n, r in results.items()} == {
        "keeper.mp4": ("unchanged", ""),
        "zero length.mp4": ("failed", "no audio or video stream"),
        "header only.mp4": ("failed", "no audio or video data (stream headers but no packets)"),
        "header only.mkv": ("failed", "not a readable media file (End of file)"),
    }
    assert [s.segment_id for s in kb.segments()] == before
    status = {Path(v["path"]).name: (v["status"], v["errors"]) for v in kb.status()["videos"]}
    assert status["header only.mp4"] == ("failed", ["no audio or video data (stream headers but no packets)"])


# -- sidecar subtitles in odd encodings and with messy cues ------------------------------------------------


def _srt(cues) -> str:
    def ts(seconds: float) -> str:
        sign = "-" if seconds < 0 else ""
        ms = round(abs(seconds) * 1000)
        return f"{sign}{ms // 3_600_000:02d}:{ms // 60_000 % 60:02d}:{ms // 1000 % 60:02d},{ms % 1000:03d}"

    return "".join(f"{i + 1}\n{ts(a)} --> {ts(b)}\n{text}\n\n" for i, (a, b, text) in enumerate(cues))


def test_sidecar_subtitles_in_any_encoding_and_with_messy_cues(tmp_path):
    d = tmp_path / "subs"
    d.mkdir()
    colours = iter(["red", "green", "blue", "yellow", "purple", "orange", "gray"])

    def clip(name: str, raw: bytes, sub_name: str | None = None) -> None:
        make_color_video(d / f"{name}.mkv", [(next(colours), 2.0)], size=(160, 90))  # distinct files
        (d / (sub_name or f"{name}.srt")).write_bytes(raw)

    two = [(0.5, 1.0, "Café crème at the \u201cDeux Magots\u201d"), (1.0, 1.8, "Zürich \u2014 Genève")]
    clip("cp1252", _srt(two).encode("cp1252"))  # a Windows editor's ANSI file
    clip("utf16", _srt(two).encode("utf-16"))  # with its byte-order mark
    clip("utf8 bom", codecs.BOM_UTF8 + _srt(two).encode("utf-8"), "utf8 bom.en.srt")
    damaged = _srt([(0.5, 1.0, "Smörgåsbord für alle"), (1.0, 1.8, "one broken BYTE here")]).encode("utf-8")
    clip("bad bytes", damaged.replace(b"BYTE", b"\xff"))
    clip("messy", _srt([
        (1.5, 1.9, "Listed first but comes last"),
        (0.2, 1.2, "Overlaps the next cue"),
        (0.8, 1.0, "Inside the overlap"),
        (0.9, 0.9, "Zero length cue"),
        (-1.0, 0.4, "Negative start cue"),
        (1.7, 1.6, "Ends before it starts"),
        (1.0, 1.1, "   "),  # blank text
    ]).encode("utf-8"))
    clip("garbage", os.urandom(2000))
    clip("empty", b"")
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr",))
    results = by_name(kb.index([d]).results)
    rows = videos(kb)

    def cues(name: str) -> list[tuple[float, float, str]]:
        return [(s.start, s.end, s.text) for s in kb.segments(rows[name]["video_id"], "asr")]

    expected = [(0.5, 1.0, "Café crème at the \u201cDeux Magots\u201d"), (1.0, 1.8, "Zürich \u2014 Genève")]
    for name in ("cp1252.mkv", "utf16.mkv", "utf8 bom.mkv"):
        assert results[name].status == "indexed", (name, results[name].reason)
        assert cues(name) == expected, name
    assert results["bad bytes.mkv"].status == "indexed"
    assert cues("bad bytes.mkv") == [(0.5, 1.0, "Smörgåsbord für alle"), (1.0, 1.8, "one broken \ufffd here")]
    assert results["messy.mkv"].status == "indexed"
    messy = cues("messy.mkv")
    assert sorted(text for _, _, text in messy) == sorted([
        "Listed first but comes last", "Overlaps the next cue", "Inside the overlap", "Zero length cue",
        "Negative start cue", "Ends before it starts",
    ])  # the blank cue is dropped
    assert all(0 <= start <= end for start, end, _ in messy) and messy == sorted(messy)
    assert (1.6, 1.7, "Ends before it starts") in messy and (0.9, 0.9, "Zero length cue") in messy
    assert (0.2, 1.2, "Overlaps the next cue") in messy and (0.8, 1.0, "Inside the overlap") in messy
    for name in ("garbage.mkv", "empty.mkv"):  # the video is kept; speech is flagged and retried next run
        sidecar = d / name.replace(".mkv", ".srt")
        assert results[name].status == "partial"
        assert results[name].reason == f"asr: {sidecar}: cannot read subtitle file: not in a subtitle format"
        assert rows[name]["errors"] == [results[name].reason]


# -- hostile file names, on the command line and inside folders --------------------------------------------


NAMES = ["line\nbreak.mkv", 'say "hi" it\'s.mkv', "🎬 film.mkv", "שלום עולם.mkv", "مرحبا.mkv",
         "-rf.mkv", "--help.mkv", "lecture [eng].mkv", "\u202eevil\u202c.mkv"]


@pytest.fixture(scope="module")
def named_folder(tmp_path_factory):
    d = tmp_path_factory.mktemp("names")
    colours = ["red", "green", "blue", "yellow", "purple", "orange", "gray", "white", "black"]
    for name, colour in zip(NAMES, colours):
        make_color_video(d / name, [(colour, 1.0)], size=(160, 90))
    (d / "[").mkdir()
    (d / "[" / "].mkv").write_bytes(b"not a video")  # the path reads as rich markup "[/]"
    return d


def _rows(out: str) -> list[str]:
    return [line for line in out.splitlines() if line.startswith("│")]


def _shown(name: str) -> str:
    return "".join(ch if ch.isprintable() else ch.encode("unicode_escape").decode() for ch in name)


def test_hostile_file_names_in_a_folder_get_one_row_each(named_folder, tmp_path, capsys, monkeypatch):
    from vrag.cli import main

    monkeypatch.setenv("COLUMNS", "250")
    code = main(["index", str(named_folder), "--db", str(tmp_path / "kb"), "--only", "ocr", "-q"])
    out = capsys.readouterr().out
    assert code == 1  # the fake "].mkv" failed
    rows = _rows(out)
    assert len(rows) == len(NAMES) + 1, out
    for name in NAMES:
        (row,) = [r for r in rows if f"{named_folder}/{_shown(name)} " in r]
        assert "indexed" in row
    (bad,) = [r for r in rows if f"{named_folder}/[/].mkv " in r]
    assert "failed" in bad and "not a readable media file (Invalid data found when processing input)" in bad
    status = {Path(v["path"]).name: v["status"] for v in KnowledgeBase(tmp_path / "kb").status()["videos"]}
    assert status == {**{n: "indexed" for n in NAMES}, "].mkv": "failed"}
    assert main(["status", "--db", str(tmp_path / "kb")]) == 0  # markup-like names do not break the table
    out = capsys.readouterr().out
    assert "[/].mkv: not a readable media file" in out and "lecture [eng].mkv" in out


def test_hostile_file_names_given_on_the_command_line(named_folder, tmp_path, capsys, monkeypatch):
    from vrag.cli import main

    monkeypatch.setenv("COLUMNS", "250")
    monkeypatch.chdir(named_folder)
    with pytest.raises(SystemExit) as exc:  # like rm: a name that starts with "-" is read as an option...
        main(["index", "-rf.mkv", "--db", str(tmp_path / "kb")])
    assert exc.value.code == 2
    capsys.readouterr()
    # ...unless it comes after "--" or as ./-rf.mkv
    given = ["-rf.mkv", "--help.mkv", "line\nbreak.mkv", "./\u202eevil\u202c.mkv", "שלום עולם.mkv"]
    assert main(["index", "--db", str(tmp_path / "kb"), "--only", "ocr", "-q", "--", *given]) == 0
    rows = _rows(capsys.readouterr().out)
    assert [[cell.strip() for cell in row.split("│")[1:3]] for row in rows] == [["indexed", _shown(n)] for n in given]


# -- symbolic links ----------------------------------------------------------------------------------------


def test_symlink_loops_and_dangling_links_are_reported_and_the_rest_indexed(tmp_path):
    d = tmp_path / "media"
    (d / "sub").mkdir(parents=True)
    make_color_video(d / "sub" / "good.mkv", [("teal", 1.0)], size=(160, 90))
    (d / "sub" / "up").symlink_to(d)  # a folder link to its own ancestor
    (d / "sub" / "self").symlink_to(d / "sub")  # a folder link to itself
    (d / "dangling.mkv").symlink_to(tmp_path / "missing.mkv")
    (d / "alias.mkv").symlink_to(d / "sub" / "good.mkv")  # a working link: same content, indexed once
    (d / "ping.mkv").symlink_to(d / "pong.mkv")
    (d / "pong.mkv").symlink_to(d / "ping.mkv")  # a file-level link loop
    kb = KnowledgeBase(tmp_path / "kb", stages=("ocr",))
    report = kb.index([d, d / "sub" / "up" / "sub" / "self" / "good.mkv"])
    got = sorted((os.path.relpath(r.path, d), r.status, r.reason) for r in report.results)
    real = os.path.realpath(d)
    assert got == [
        ("alias.mkv", "indexed", ""),
        ("dangling.mkv", "failed", "broken symbolic link"),
        ("ping.mkv", "failed", "broken symbolic link"),
        ("pong.mkv", "failed", "broken symbolic link"),
        ("sub/good.mkv", "unchanged", f"same content as {d / 'alias.mkv'}"),
        ("sub/self", "failed", f"symbolic link loop (points back to {real}/sub)"),
        ("sub/up", "failed", f"symbolic link loop (points back to {real})"),
        ("sub/up/sub/self/good.mkv", "unchanged", f"same content as {d / 'alias.mkv'}"),
    ]
    assert len(kb.status()["videos"]) == 1


# -- a file replaced while it is being read ---------------------------------------------------------------


@pytest.fixture(scope="module")
def two_versions(tmp_path_factory):
    d = tmp_path_factory.mktemp("versions")
    make_lecture([Slide(title="Apple Orchards", narration="Apples grow on trees in the orchard.", min_seconds=3)],
                 d / "apples.mp4", size=(640, 360))
    make_lecture([Slide(title="Railway Stations", narration="Trains stop at the busy station.", min_seconds=3)],
                 d / "trains.mp4", size=(640, 360))
    return d / "apples.mp4", d / "trains.mp4"


def _swap_when(stage: str, target: Path, content: Path, after: float = 0.0, on: str | None = None):
    """A progress hook that atomically replaces ``target`` with ``content`` once, at ``stage``."""
    done: list[bool] = []

    def hook(event):
        if done or event.stage != stage or event.done < after or (on and not event.path.endswith(on)):
            return
        done.append(True)
        shutil.copy(content, target.with_name(".swap"))
        os.replace(target.with_name(".swap"), target)

    return hook


def test_file_replaced_between_discovery_and_indexing_is_indexed_as_it_is_now(tmp_path, two_versions):
    apples, trains = two_versions
    d = tmp_path / "v"
    d.mkdir()
    shutil.copy(apples, d / "a.mp4")
    shutil.copy(apples, d / "b.mp4")
    (d / "b.mp4").write_bytes((d / "b.mp4").read_bytes() + b"\0")
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr", "ocr"))
    report = kb.index([d], progress=_swap_when("start", d / "b.mp4", trains, on="a.mp4"))
    results = by_name(report.results)
    assert (results["a.mp4"].status, results["b.mp4"].status) == ("indexed", "indexed")
    b = videos(kb)["b.mp4"]
    assert "railway stations" in text_of(kb, b["video_id"], "ocr") and "apple" not in text_of(kb, b["video_id"], "ocr")
    assert "station" in text_of(kb, b["video_id"], "asr")
    assert kb.index([d]).results[1].status == "unchanged"


@pytest.mark.parametrize("stage, after", [("probe", 0.0), ("frames", 1.0), ("asr", 0.0)])
def test_file_replaced_mid_read_writes_nothing_mixed(tmp_path, two_versions, stage, after):
    apples, trains = two_versions
    video = tmp_path / "talk.mp4"
    shutil.copy(apples, video)
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr", "ocr"))
    (result,) = kb.index([video], progress=_swap_when(stage, video, trains, after)).results
    assert (result.status, result.reason) == ("failed", CHANGED)
    assert kb.segments() == []
    assert [(v["status"], v["errors"]) for v in kb.status()["videos"]] == [("failed", [CHANGED])]
    # the next run reads the file as it is now: only its own records, under its own id
    (result,) = kb.index([video]).results
    assert result.status == "indexed"
    texts = " ".join(s.text for s in kb.segments()).lower()
    assert "railway" in texts and "apple" not in texts
    (row,) = kb.status()["videos"]
    from vrag.media.probe import content_hash

    assert row["video_id"] == content_hash(trains) and row["status"] == "indexed"


def test_file_replaced_mid_reindex_keeps_what_was_indexed(tmp_path, two_versions):
    apples, trains = two_versions
    video = tmp_path / "talk.mp4"
    shutil.copy(trains, video)
    kb = KnowledgeBase(tmp_path / "kb", stages=("asr", "ocr"))
    kb.index([video])
    before = [(s.segment_id, s.text) for s in kb.segments()]
    shutil.copy(apples, video)  # changed on disk: the next run re-indexes it ...
    (result,) = kb.index([video], progress=_swap_when("frames", video, trains, after=1.0)).results
    assert (result.status, result.reason) == ("failed", CHANGED)  # ... but it changes again mid-read
    assert [(s.segment_id, s.text) for s in kb.segments()] == before
    assert [v["status"] for v in kb.status()["videos"]] == ["indexed"]
    assert kb.index([video]).results[0].status == "unchanged"
    assert "railway" in " ".join(s.text for s in kb.segments()).lower()
