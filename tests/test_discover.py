import os

from vrag.discover import discover


def test_walks_recursively_follows_links_and_reports_loops(tmp_path):
    (tmp_path / "a" / "deep").mkdir(parents=True)
    (tmp_path / "a" / "deep" / "clip one.MP4").write_bytes(b"x")
    (tmp_path / "a" / "talk.flac").write_bytes(b"x")
    (tmp_path / "a" / "notes.txt").write_text("not media")
    (tmp_path / "a" / "._resource.mp4").write_bytes(b"x")  # macOS junk: skipped
    (tmp_path / "a" / "deep" / "loop").symlink_to(tmp_path / "a")
    (tmp_path / "a" / "dangling.mp4").symlink_to(tmp_path / "missing.mp4")
    files, skipped = discover([str(tmp_path / "a")])
    names = sorted(os.path.basename(f.path) for f in files)
    assert names == ["clip one.MP4", "talk.flac"]
    reasons = {os.path.basename(s.path): s.reason for s in skipped}
    assert "symbolic link loop" in reasons["loop"]
    assert reasons["dangling.mp4"] == "broken symbolic link"


def test_explicit_paths(tmp_path):
    (tmp_path / "doc.pdf").write_text("x")
    (tmp_path / "v.webm").write_bytes(b"x")
    files, skipped = discover([str(tmp_path / "v.webm"), str(tmp_path / "doc.pdf"), str(tmp_path / "gone")])
    assert [f.path for f in files] == [str(tmp_path / "v.webm")]
    reasons = {os.path.basename(s.path): s.reason for s in skipped}
    assert reasons["doc.pdf"].startswith("unsupported file type '.pdf'")
    assert reasons["gone"] == "no such file or folder"


def test_unreadable_folder_is_reported_and_walk_goes_on(tmp_path, monkeypatch):
    (tmp_path / "ok").mkdir()
    (tmp_path / "ok" / "v.mp4").write_bytes(b"x")
    (tmp_path / "locked").mkdir()
    real_scandir = os.scandir

    def scandir(path="."):
        if os.fspath(path).endswith("locked"):
            raise PermissionError(13, "Permission denied", os.fspath(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", scandir)
    files, skipped = discover([str(tmp_path)])
    assert [os.path.basename(f.path) for f in files] == ["v.mp4"]
    assert any(s.path.endswith("locked") and "Permission denied" in s.reason for s in skipped)
