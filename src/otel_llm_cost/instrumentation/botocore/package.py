"""The botocore versions this instrumentation supports (read by ``opentelemetry-instrument``)."""

_instruments = ("botocore >= 1.34.116",)  # the first release with Bedrock's Converse API
