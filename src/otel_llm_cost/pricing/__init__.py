"""Price LLM calls: :class:`Pricer` turns a normalised usage, model and provider into a :class:`Cost`.

Prices come from the ``genai-prices`` dataset (price history, service tiers, long-context tiers,
cache reads and 5-minute / 1-hour cache writes), resolved once per (provider, model, UTC day, service
tier) and cached, so pricing a call is a few Decimal multiplications. User prices and aliases come
from an override file (:func:`load_overrides`, or the ``OTEL_LLM_COST_PRICES_FILE`` variable).

Example::

    from otel_llm_cost.pricing import get_pricer
    from otel_llm_cost.usage import Usage

    cost = get_pricer().price(Usage.of(1200, 300, cache_read_tokens=1000), "gpt-4o", "openai")

Nothing here imports OpenTelemetry, touches the network, or raises from :meth:`Pricer.price`.
Prices follow genai-prices' active snapshot: start ``genai_prices.UpdatePrices`` yourself to opt in
to fresher data; the cache notices the new snapshot.
"""

from otel_llm_cost.pricing._cost import Cost, cost_attributes
from otel_llm_cost.pricing._overrides import PriceOverrides
from otel_llm_cost.pricing._price_file import load_overrides
from otel_llm_cost.pricing._pricer import Pricer, UnpricedListener, get_pricer, set_pricer

__all__ = [
    "Cost",
    "PriceOverrides",
    "Pricer",
    "UnpricedListener",
    "cost_attributes",
    "get_pricer",
    "load_overrides",
    "set_pricer",
]

# Users see otel_llm_cost.pricing.Cost, not the private module it lives in.
for _obj in (Cost, PriceOverrides, Pricer, cost_attributes, get_pricer, load_overrides, set_pricer):
    _obj.__module__ = __name__
del _obj
