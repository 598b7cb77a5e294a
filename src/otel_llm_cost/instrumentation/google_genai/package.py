"""The SDK versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("google-genai >= 1.0",)
