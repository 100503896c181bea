"""What a model call cost: token counts priced with Pydantic's ``genai-prices`` table.

The table ships inside the ``genai-prices`` package (dated prices per provider and model);
chaintrack never fetches prices over the network (``genai_prices.UpdatePrices`` is never
started, and the bundled snapshot is used even when the application started it). A price
table's version is recorded with every price it gives (``genai-prices 0.2.5``), so a stored cost
says which table it came from; ``chaintrack reprice`` prices stored tasks again.

``CHAINTRACK_PRICES`` names a JSON file whose prices win over the table's (a fine-tuned or
self-hosted model, a negotiated rate)::

    {"models": {"my-finetune": {"input_mtok": 0.5, "output_mtok": 1.5},
                "gpt-4o-mini": {"input_mtok": 0.15, "output_mtok": 0.6,
                                "cache_read_mtok": 0.075}}}

Prices are USD per million tokens. A model with no known price costs ``None`` (shown as
"unknown"), never $0. Lookups are cached per model name: pricing a call is a dict lookup and a
few multiplications once the model was seen (``benchmarks/bench_prices.py``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import threading
from dataclasses import dataclass
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

from chaintrack import config
from chaintrack.errors import ConfigurationError

log = logging.getLogger("chaintrack")

#: Prices an override file may give per model, USD per million tokens (genai-prices' names).
PRICE_KEYS = (
    "input_mtok",
    "output_mtok",
    "cache_read_mtok",
    "cache_write_mtok",
    "input_audio_mtok",
    "output_audio_mtok",
)
#: Where the token counts of a span payload go in genai-prices' usage. LangChain's
#: ``usage_metadata`` details (``input_token_details``/``output_token_details``) and flat keys
#: (OpenTelemetry GenAI conventions) both count; prompt/completion tokens include them.
_INPUT_DETAILS = {"cache_read": "cache_read_tokens", "cache_creation": "cache_write_tokens",
                  "audio": "input_audio_tokens"}  # fmt: skip
_OUTPUT_DETAILS = {"reasoning": "output_reasoning_tokens", "audio": "output_audio_tokens"}
_FLAT = {
    "cached_tokens": "cache_read_tokens",
    "cache_read_tokens": "cache_read_tokens",
    "cache_write_tokens": "cache_write_tokens",
    "reasoning_tokens": "output_reasoning_tokens",
}


@dataclass(frozen=True)
class TokenUsage:
    """A model call's tokens by type; ``input``/``output`` include cached and reasoning ones."""

    input: int = 0
    output: int = 0
    cache_read: int = 0
    cache_write: int = 0
    reasoning: int = 0
    input_audio: int = 0
    output_audio: int = 0

    def as_genai(self) -> dict[str, int]:
        found = {
            "input_tokens": self.input,
            "output_tokens": self.output,
            "cache_read_tokens": self.cache_read,
            "cache_write_tokens": self.cache_write,
            "output_reasoning_tokens": self.reasoning,
            "input_audio_tokens": self.input_audio,
            "output_audio_tokens": self.output_audio,
        }
        return {k: v for k, v in found.items() if v}


def _tokens(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return 0
    return int(value) if math.isfinite(value) and value > 0 else 0


def usage_of(payload: dict[str, Any]) -> TokenUsage | None:
    """The tokens of a span payload by type, or None when it reports no tokens at all."""
    prompt, completion = payload.get("prompt_tokens"), payload.get("completion_tokens")
    if prompt is None and completion is None:
        return None
    kinds: dict[str, int] = {}
    for key, target in _FLAT.items():
        if _tokens(payload.get(key)):
            kinds[target] = _tokens(payload.get(key))
    for field, names in (("input_token_details", _INPUT_DETAILS),
                         ("output_token_details", _OUTPUT_DETAILS)):  # fmt: skip
        details = payload.get(field)
        if isinstance(details, dict):
            for key, target in names.items():
                if _tokens(details.get(key)):
                    kinds[target] = _tokens(details.get(key))
    return TokenUsage(
        input=_tokens(prompt),
        output=_tokens(completion),
        cache_read=kinds.get("cache_read_tokens", 0),
        cache_write=kinds.get("cache_write_tokens", 0),
        reasoning=kinds.get("output_reasoning_tokens", 0),
        input_audio=kinds.get("input_audio_tokens", 0),
        output_audio=kinds.get("output_audio_tokens", 0),
    )


@dataclass(frozen=True)
class Price:
    """A priced call: its cost in USD and the table that priced it."""

    cost_usd: float
    source: str


def genai_prices_version() -> str | None:
    """The installed genai-prices version (its price data's version), or None."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("genai-prices")
    except PackageNotFoundError:
        return None


def _override_prices(path: Path) -> tuple[dict[str, dict[str, Decimal]], str]:
    """The prices of an override file by lower-case model name, and the file's source label."""
    where = f"{config.PRICES.name}={str(path)!r}"
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ConfigurationError(
            f"{where}: the price file cannot be read ({exc.strerror or exc}); point "
            f"{config.PRICES.name} at a JSON file or unset it."
        ) from None
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ConfigurationError(f"{where}: the price file is not valid JSON ({exc}).") from None
    models = data.get("models") if isinstance(data, dict) else None
    if not isinstance(models, dict):
        raise ConfigurationError(
            f'{where}: the price file must be an object with "models": {{"<model name>": '
            '{"input_mtok": <USD per million tokens>, "output_mtok": …}}.'
        )
    table: dict[str, dict[str, Decimal]] = {}
    for name, prices in models.items():
        if not isinstance(prices, dict) or not prices:
            raise ConfigurationError(f"{where}: model {name!r} needs an object of prices.")
        entry: dict[str, Decimal] = {}
        for key, value in prices.items():
            if key not in PRICE_KEYS:
                raise ConfigurationError(
                    f"{where}: model {name!r} has an unknown price {key!r}; use "
                    f"{', '.join(PRICE_KEYS)} (USD per million tokens)."
                )
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value < 0:
                raise ConfigurationError(
                    f"{where}: model {name!r} price {key}={value!r} must be a number >= 0."
                )
            entry[key] = Decimal(str(value))
        table[str(name).lower()] = entry
    digest = hashlib.sha256(raw).hexdigest()[:12]
    return table, f"{config.PRICES.name} {path.name} sha256:{digest}"


class PriceTable:
    """Prices model calls: an override file first, then genai-prices' bundled table.

    Thread-safe (lookups are cached in a dict; a race computes an entry twice). genai-prices is
    imported on the first priced call, not when the table is made.
    """

    def __init__(self, override: Path | None = None) -> None:
        self._override: dict[str, dict[str, Decimal]] = {}
        self._override_source = ""
        if override is not None:
            self._override, self._override_source = _override_prices(override)
        self._snapshot: Any = None
        self._version = ""
        self._lookups: dict[str, Any] = {}
        #: Per genai-prices ModelPrice (kept alive here, so its id stays its own): the price per
        #: token of each usage key when the price is linear in them, else None.
        self._linear: dict[int, tuple[Any, dict[str, Decimal] | None]] = {}
        self._lock = threading.Lock()
        self._missing_warned = False

    @classmethod
    def from_environment(cls) -> PriceTable:
        """The table ``CHAINTRACK_PRICES`` asks for (the bundled one when unset)."""
        return cls(config.prices_file())

    @property
    def source(self) -> str:
        """The table's version as recorded with its prices."""
        version = self._genai() and self._version
        parts = [p for p in (self._override_source, version) if p]
        return " + ".join(parts) or "none"

    def _genai(self) -> bool:
        if self._snapshot is not None:
            return True
        with self._lock:
            if self._snapshot is None:
                try:
                    from genai_prices import data
                    from genai_prices.data_snapshot import DataSnapshot
                except ModuleNotFoundError:
                    if not self._missing_warned:
                        self._missing_warned = True
                        log.warning(
                            "chaintrack: model calls are not priced (cost unknown) because the "
                            "package 'genai-prices' is not installed. Install it with: "
                            "pip install 'chaintrack[prices]'"
                        )
                    return False
                # The bundled data only: never a snapshot fetched by genai_prices.UpdatePrices.
                self._snapshot = DataSnapshot(providers=data.providers, from_auto_update=False)
                self._version = f"genai-prices {genai_prices_version()}"
        return True

    def _lookup(self, model: str) -> Any:
        """(provider, model info) of genai-prices for a model name, or None (cached)."""
        key = model.lower()
        if key in self._lookups:
            return self._lookups[key]
        found = None
        if self._genai():
            found = self._find(key)
        self._lookups[key] = found
        return found

    def _find(self, key: str) -> Any:
        snapshot = self._snapshot
        candidates: list[tuple[str, str | None]] = [(key, None)]
        if "/" in key:  # "openai/gpt-4o", "anthropic/claude-…": provider prefix
            provider, _, rest = key.partition("/")
            candidates += [(rest, provider), (rest, None)]
        if ":" in key:  # "ft:gpt-4o-mini:org::id", "gpt-4o:latest"
            candidates.append((key.split(":")[1] if key.startswith("ft:") else
                               key.split(":", maxsplit=1)[0], None))  # fmt: skip
        for ref, provider_id in candidates:
            try:
                return snapshot.find_provider_model(ref, None, provider_id, None)
            except LookupError:
                continue
        return None

    def price(self, model: str | None, usage: TokenUsage | None, when: float | None = None
              ) -> Price | None:  # fmt: skip
        """The cost of a call of ``model`` with ``usage`` made at ``when`` (seconds since the
        epoch; prices are dated), or None when the model or its price is unknown."""
        if not model or usage is None:
            return None
        own = self._override.get(model.lower())
        if own is not None:
            return self._price_own(own, usage)
        found = self._lookup(model)
        if found is None:
            return None
        provider, info = found
        at = datetime.fromtimestamp(when, timezone.utc) if when else datetime.now(timezone.utc)
        try:
            model_price = info.get_prices(at)
            rates = self._linear.get(id(model_price))
            if rates is None:
                rates = self._linear[id(model_price)] = (model_price, _linear_rates(model_price))
            if rates[1] is not None:
                per_token = rates[1]  # the same keys as as_genai's (_USAGE_KEYS)
                total = sum((Decimal(n) * per_token[k] for k, n in usage.as_genai().items()),
                            Decimal(0))  # fmt: skip
                return Price(float(total), self._version)
            from genai_prices import Usage

            calc = info.calc_price(Usage(**usage.as_genai()), provider, genai_request_timestamp=at)
        except (LookupError, ValueError, ArithmeticError):
            return None  # a price the table cannot give for this usage: unknown
        return Price(float(calc.total_price), self._version)

    def _price_own(self, prices: dict[str, Decimal], usage: TokenUsage) -> Price:
        per = Decimal(1_000_000)
        plain_input = max(0, usage.input - usage.cache_read - usage.cache_write - usage.input_audio)
        plain_output = max(0, usage.output - usage.output_audio)
        zero = Decimal(0)
        input_price = prices.get("input_mtok", zero)
        parts = (
            (plain_input, input_price),
            (usage.cache_read, prices.get("cache_read_mtok", input_price)),
            (usage.cache_write, prices.get("cache_write_mtok", input_price)),
            (usage.input_audio, prices.get("input_audio_mtok", input_price)),
            (plain_output, prices.get("output_mtok", zero)),
            (usage.output_audio, prices.get("output_audio_mtok", prices.get("output_mtok", zero))),
        )
        total = sum((Decimal(n) * p for n, p in parts), zero) / per
        return Price(float(total), self._override_source)


_USAGE_KEYS = tuple(TokenUsage(1, 1, 1, 1, 1, 1, 1).as_genai())


def _linear_rates(model_price: Any) -> dict[str, Decimal] | None:
    """The price per token of each usage key when ``model_price`` is linear in the token
    counts (no tiers), found with genai-prices' own calculation and checked at another point;
    None when it is not (then every call is priced by genai-prices in full)."""
    from genai_prices import Usage
    from genai_prices.types import TieredPrices

    if any(isinstance(v, TieredPrices) for v in vars(model_price).values()):
        return None
    base = {"input_tokens": 4_000_000, "output_tokens": 4_000_000}

    def total(extra: dict[str, int]) -> Decimal:
        counts = {**base, **{k: base.get(k, 0) + v for k, v in extra.items()}}
        return Decimal(model_price.calc_price(Usage(**counts))["total_price"])

    zero = total({})
    rates = {key: (total({key: 1_000_000}) - zero) / 1_000_000 for key in _USAGE_KEYS}
    if zero != sum((Decimal(base[k]) * rates[k] for k in base), Decimal(0)):
        return None
    probe = {"input_tokens": 1234, "output_tokens": 567, "cache_read_tokens": 89,
             "cache_write_tokens": 12, "output_reasoning_tokens": 34, "input_audio_tokens": 5,
             "output_audio_tokens": 6}  # fmt: skip
    expected = Decimal(model_price.calc_price(Usage(**probe))["total_price"])
    if expected != sum((Decimal(n) * rates[k] for k, n in probe.items()), Decimal(0)):
        return None
    return rates


_default: PriceTable | None = None
_default_key: str | None = None
_default_lock = threading.Lock()


def default_table() -> PriceTable:
    """The process's price table for the current ``CHAINTRACK_PRICES`` (made once per value).
    Raises :class:`ConfigurationError` for an unusable override file."""
    global _default, _default_key
    key = str(config.prices_file() or "")
    with _default_lock:
        if _default is None or key != _default_key:
            _default = PriceTable.from_environment()
            _default_key = key
        return _default
