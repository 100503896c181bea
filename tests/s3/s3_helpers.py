"""Helpers of the S3 tests."""

from __future__ import annotations

from typing import Any


def keys(s3: Any, bucket: str) -> set[str]:
    """Every object key in ``bucket``."""
    pages = s3.get_paginator("list_objects_v2").paginate(Bucket=bucket)
    return {o["Key"] for page in pages for o in page.get("Contents", [])}
