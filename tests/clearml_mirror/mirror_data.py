"""Data the mirror tests record and expect back."""

from __future__ import annotations

#: What a task records when it runs in a git checkout with uncommitted changes.
SCRIPT = {
    "repository": "https://example.com/team/rag-app.git",
    "branch": "feature/mirror",
    "version_num": "0123456789abcdef0123456789abcdef01234567",
    "diff": "diff --git a/app.py b/app.py\n+print('uncommitted')\n",
    "entry_point": "app.py",
    "working_dir": ".",
    "binary": "python3.11",
}
PNG = (
    b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00\x00\x01\x00\x00\x00\x01\x08\x06\x00\x00\x00"
    b"\x1f\x15\xc4\x89\x00\x00\x00\rIDATx\x9cc\xf8\xcf\xc0\xf0\x1f\x00\x05\x00\x01\xff\x89\x99"
    b"=\x1d\x00\x00\x00\x00IEND\xaeB`\x82"
)
