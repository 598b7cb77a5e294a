"""The SDK versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("anthropic >= 0.40",)
