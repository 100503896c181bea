"""`chaintrack ui` and `chaintrack server` refuse what they cannot serve, with what to do.

(Serving itself is exercised by the browser tests and the HTTP-store tests, which start these
commands as real processes.)"""

from __future__ import annotations

import pytest

from chaintrack import cli


def test_ui_of_a_tracking_server_points_at_its_address(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("CHAINTRACK_TRACKING_URI", "http://tok@example.com:8600")
    assert cli.main(["ui"]) == 1
    err = capsys.readouterr().err
    assert "is a tracking server (http://***@example.com:8600)" in err
    assert "`chaintrack ui` serves a local store" in err


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--store", "http://elsewhere:8600"], "a server serves a database"),
        (["--artifacts", "s3://bucket/files"], "only a local folder"),
    ],
)
def test_server_refuses_what_it_cannot_serve(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["server", *argv]) == 1
    assert message in capsys.readouterr().err


def test_serve_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        cli.main(["server", "--workers", "0"])
    assert exited.value.code == 2
    assert "--workers: 0 is too small" in capsys.readouterr().err
