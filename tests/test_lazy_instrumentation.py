"""An SDK the app never imports costs nothing: configure() instruments it when the app imports it (#20)."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def _run(code: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    return proc.stdout.strip()


def test_configure_imports_no_sdk_and_instruments_each_on_import():
    out = _run(
        """
        import sys
        import wrapt
        from opentelemetry.sdk.trace import TracerProvider
        import otel_llm_cost

        otel_llm_cost.configure(tracer_provider=TracerProvider())
        sdks = ("openai", "anthropic", "httpx", "httpx2", "botocore", "google.genai")
        print(sorted(m for m in sdks if m in sys.modules))
        import openai
        from openai.resources.chat.completions import Completions
        print(isinstance(vars(Completions)["create"], wrapt.FunctionWrapper), "anthropic" in sys.modules)
        import anthropic
        from anthropic.resources.messages import Messages
        print(isinstance(vars(Messages)["create"], wrapt.FunctionWrapper))
        """
    )
    assert out.splitlines() == ["[]", "True False", "True"]


def test_uninstrument_before_the_import_leaves_the_sdk_untouched():
    out = _run(
        """
        import wrapt
        from opentelemetry.sdk.trace import TracerProvider
        import otel_llm_cost

        for instrumentor in otel_llm_cost.configure(tracer_provider=TracerProvider()):
            instrumentor.uninstrument()
        import openai
        from openai.resources.chat.completions import Completions
        print(isinstance(vars(Completions)["create"], wrapt.FunctionWrapper))
        """
    )
    assert out == "False"


def test_an_sdk_imported_before_configure_is_instrumented_at_once():
    out = _run(
        """
        import anthropic
        import wrapt
        from opentelemetry.sdk.trace import TracerProvider
        import otel_llm_cost

        otel_llm_cost.configure(tracer_provider=TracerProvider())
        from anthropic.resources.messages import Messages
        print(isinstance(vars(Messages)["create"], wrapt.FunctionWrapper))
        """
    )
    assert out == "True"
