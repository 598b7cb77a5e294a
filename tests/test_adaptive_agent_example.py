"""``examples/adaptive_agent.py`` runs offline; it switches model once its run's spend passes a threshold."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

EXAMPLE = Path(__file__).resolve().parent.parent / "examples" / "adaptive_agent.py"


def run_example(threshold: str) -> str:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "OPENAI_"))}
    env["ADAPTIVE_BUDGET_USD"] = threshold
    done = subprocess.run(
        [sys.executable, str(EXAMPLE)], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout


def test_the_agent_switches_to_the_cheaper_model_past_its_threshold():
    out = run_example("0.001")
    turns = re.findall(r"^turn (\d): (\S+) +run spend \$([\d.]+)$", out, re.MULTILINE)
    assert [int(t[0]) for t in turns] == [1, 2, 3, 4, 5]
    switch = re.search(r"switched to gpt-4o-mini at turn (\d): run spend \$([\d.]+)", out)
    assert switch is not None
    at = int(switch.group(1))
    assert at > 1 and Decimal(switch.group(2)) >= Decimal("0.001")
    for number, model, spend in turns:
        assert model == ("gpt-4o" if int(number) < at else "gpt-4o-mini")
        # The spend after a turn decides the next one: under the threshold until the turn before the switch.
        if int(number) < at - 1:
            assert Decimal(spend) < Decimal("0.001")
    assert Decimal(turns[at - 2][2]) >= Decimal("0.001")
    # The last turn was made by hand (llm_call): it is counted with the SDK calls.
    assert re.search(r"^run: 5 calls, ", out, re.MULTILINE)
    assert Decimal(re.search(r"^run: .*?\$([\d.]+);", out, re.MULTILINE).group(1)) == Decimal(turns[-1][2])


def test_with_a_large_threshold_it_never_switches():
    out = run_example("100")
    assert "switched" not in out
    assert set(re.findall(r"^turn \d: (\S+)", out, re.MULTILINE)) == {"gpt-4o"}
