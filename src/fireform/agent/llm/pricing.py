"""Estimated cost of LLM calls, for the spec's ``budget.llm_cost_usd``.

cost = tokens_in x price_in / 1e6 + tokens_out x price_out / 1e6, prices in US dollars per
million tokens from ``prices.yml`` (matched by the longest key the model name starts with) or
from ``proposer.settings.price_in_per_mtok`` / ``price_out_per_mtok``, which win.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources

import yaml

from fireform.exceptions import FireformError

__all__ = ["Price", "price_for", "price_table"]


@dataclass(frozen=True)
class Price:
    in_per_mtok: float
    out_per_mtok: float
    source: str  # "prices.yml:<provider>/<key>", "settings" or "unknown"

    @property
    def known(self) -> bool:
        return self.source != "unknown"

    def cost(self, tokens_in: int, tokens_out: int) -> float:
        return (tokens_in * self.in_per_mtok + tokens_out * self.out_per_mtok) / 1e6


def price_table() -> dict[str, dict[str, tuple[float, float]]]:
    text = resources.files("fireform.agent.llm").joinpath("prices.yml").read_text()
    raw = yaml.safe_load(text) or {}
    return {prov: {k: (float(v[0]), float(v[1])) for k, v in (rows or {}).items()}
            for prov, rows in raw.items()}


def price_for(provider: str, model: str, *, settings: dict | None = None) -> Price:
    s = settings or {}
    if "price_in_per_mtok" in s or "price_out_per_mtok" in s:
        try:
            return Price(float(s.get("price_in_per_mtok", 0.0)), float(s.get("price_out_per_mtok", 0.0)),
                         "settings")
        except (TypeError, ValueError):
            raise FireformError(
                f"proposer.settings price_in_per_mtok/price_out_per_mtok must be numbers (US$ per "
                f"million tokens), got {s.get('price_in_per_mtok')!r}/{s.get('price_out_per_mtok')!r}"
            ) from None
    rows = price_table().get(provider, {})
    keys = sorted((k for k in rows if model.startswith(k)), key=len, reverse=True)
    if keys:
        pin, pout = rows[keys[0]]
        return Price(pin, pout, f"prices.yml:{provider}/{keys[0]}")
    return Price(0.0, 0.0, "unknown")
