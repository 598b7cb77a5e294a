"""Strip every instrumentation wrapper off the openai SDK, ours or one an earlier test left behind.

OpenLLMetry's openai instrumentor (0.62) leaves its wrappers in place after ``uninstrument()``, and ours
does not wrap a method that is wrapped already, so a leftover would silently hide our calls from a test.
"""

from __future__ import annotations

from opentelemetry.instrumentation.utils import unwrap

from otel_llm_cost.instrumentation import openai as ours


def unwrap_openai() -> None:
    ours.OpenAIInstrumentor().uninstrument()
    for module_name, class_name, method, _ in ours._TARGETS:
        owner = ours._owner(module_name, class_name, method)
        while owner is not None and isinstance(vars(owner).get(method), ours._PROXY):
            unwrap(owner, method)
