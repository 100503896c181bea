"""chaintrack's LangChain callback handler, a drop-in for ClearML's.

```python
from chaintrack.langchain import ClearMLCallbackHandler
```
"""

from __future__ import annotations

import importlib.util

from chaintrack.errors import missing_dependency

if importlib.util.find_spec("langchain_core") is None:  # pragma: no cover - needs no LangChain
    raise missing_dependency("langchain_core", "langchain", "chaintrack.langchain")

from chaintrack.langchain.handler import (
    ChainTrackCallbackHandler,
    ClearMLCallbackHandler,
)

__all__ = ["ChainTrackCallbackHandler", "ClearMLCallbackHandler"]
