"""What ``configure()`` costs an app before its first call: the SDKs it loads and the memory they take.

Run: python benchmarks/bench_import.py

Each row is a fresh process (the benchmark environment has every SDK we instrument installed) that imports
only ``openai``, as an app that calls OpenAI alone does, then either stops there (bare) or runs
``otel_llm_cost.configure(tracer_provider=...)`` as the README shows, then builds an OpenAI client. Reported:
max RSS, the number of modules loaded, and which instrumented SDKs other than openai ended up in
``sys.modules``. Instrumentation waits for an SDK's import (#20), so an installed SDK the app never imports
should appear in no row and cost nothing; ``anthropic`` imported up front in the last row shows what one
would cost. Not a test: no assertions.
"""

from __future__ import annotations

import json
import subprocess
import sys

# SDKs with a capture layer of ours, besides openai (which the app imports itself).
OTHER_SDKS = ("anthropic", "google.genai", "botocore", "mistralai", "cohere", "ollama", "groq", "litellm")

_CHILD = """
import json, resource, sys
configure, extra = sys.argv[1] == "1", sys.argv[2]
if extra:
    __import__(extra)
import openai
if configure:
    from opentelemetry.sdk.trace import TracerProvider
    import otel_llm_cost
    otel_llm_cost.configure(tracer_provider=TracerProvider())
openai.OpenAI(api_key="sk-none", base_url="http://127.0.0.1:9/v1")
others = [name for name in json.loads(sys.argv[3]) if name in sys.modules]
print(json.dumps({"rss_kib": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
                  "modules": len(sys.modules), "others": others}))
"""

ROWS = (
    ("openai only, bare", False, ""),
    ("openai only, configure()", True, ""),
    ("anthropic imported too, configure()", True, "anthropic"),
)


def measure(configure: bool, extra: str) -> dict[str, object]:
    argv = [sys.executable, "-c", _CHILD, "1" if configure else "0", extra, json.dumps(OTHER_SDKS)]
    result = subprocess.run(argv, capture_output=True, text=True, check=True)
    return json.loads(result.stdout.strip().splitlines()[-1])


def main(rounds: int = 3) -> None:
    print(f"| process | max RSS MB (median of {rounds}) | modules loaded | other instrumented SDKs loaded |")
    print("|---|---|---|---|")
    for label, configure, extra in ROWS:
        runs = sorted((measure(configure, extra) for _ in range(rounds)), key=lambda r: r["rss_kib"])
        middle = runs[len(runs) // 2]
        others = ", ".join(middle["others"]) or "none"
        print(f"| {label} | {middle['rss_kib'] / 1024:.1f} | {middle['modules']:,} | {others} |")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 3)
