"""Instrumentation of LLM SDKs: one sub-package per SDK, sharing the invocation and stream bases."""
