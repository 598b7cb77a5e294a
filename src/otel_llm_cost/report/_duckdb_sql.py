"""The SQL of the DuckDB engine (see :mod:`._duckdb`): the same rules as the Python path, set-wise.

``s``: one row per span, typed columns read straight from the JSONL (only the attributes the report
uses). ``below``: spans with a counted call among their descendants (wrappers). ``c``: the calls that
count, labelled with the nearest step and agent among themselves and their ancestors.
"""

from __future__ import annotations

from typing import Final

_ATTRIBUTES: Final = {
    "gen_ai.operation.name": "VARCHAR",
    "llm_cost.span.type": "VARCHAR",
    "llm_cost.step.name": "VARCHAR",
    "gen_ai.agent.name": "VARCHAR",
    "gen_ai.provider.name": "VARCHAR",
    "gen_ai.system": "VARCHAR",
    "gen_ai.request.model": "VARCHAR",
    "gen_ai.response.model": "VARCHAR",
    "gen_ai.response.id": "VARCHAR",
    "gen_ai.usage.input_tokens": "DOUBLE",
    "gen_ai.usage.output_tokens": "DOUBLE",
    "gen_ai.usage.prompt_tokens": "DOUBLE",
    "gen_ai.usage.completion_tokens": "DOUBLE",
    "gen_ai.usage.cache_read.input_tokens": "DOUBLE",
    "gen_ai.usage.cache_write.input_tokens": "DOUBLE",
    "gen_ai.usage.cache_creation.input_tokens": "DOUBLE",
    "gen_ai.usage.reasoning.output_tokens": "DOUBLE",
    "gen_ai.usage.cost.amount": "DOUBLE",
    "gen_ai.usage.cost.currency": "VARCHAR",
    "llm_cost.cost.status": "VARCHAR",
    "gen_ai.response.time_to_first_chunk": "DOUBLE",
    "llm_cost.output_tokens_per_second": "DOUBLE",
    "llm_cost.phase.pre_processing": "DOUBLE",
    "llm_cost.phase.time_to_first_token": "DOUBLE",
    "llm_cost.phase.generation": "DOUBLE",
    "llm_cost.phase.tool": "DOUBLE",
    "llm_cost.phase.post_processing": "DOUBLE",
    "error.type": "VARCHAR",
}
COLUMNS: Final = {
    "trace_id": "VARCHAR",
    "span_id": "VARCHAR",
    "parent_span_id": "VARCHAR",
    "name": "VARCHAR",
    "start_time_unix_nano": "HUGEINT",
    "end_time_unix_nano": "HUGEINT",
    "status": "STRUCT(code VARCHAR)",
    "attributes": "STRUCT(" + ", ".join(f'"{k}" {v}' for k, v in _ATTRIBUTES.items()) + ")",
    "resource": 'STRUCT("service.name" VARCHAR)',
}


def _tokens(*names: str) -> str:
    # A usable count: a whole number from 0 to 2**53, else 0 (as Usage.of reads untrusted counts).
    value = "coalesce(" + ", ".join(f'a."{n}"' for n in names) + ")"
    return f"CASE WHEN {value} BETWEEN 0 AND 9007199254740992 THEN CAST(floor({value}) AS BIGINT) ELSE 0 END"


# READER is replaced by the read_ndjson call (its arguments must be literals, not parameters).
SPANS: Final = f"""
CREATE TEMP TABLE s AS
SELECT hash(t, id) AS k, CASE WHEN p IS NOT NULL THEN hash(t, p) END AS pk, hash(t) AS th,
  t, id, p, name, st, en, err, is_step, step, agent, model, provider, rid,
  is_call AND keeps AND (? IS NULL OR model GLOB ? OR req_model GLOB ?) AS kept,
  inp + CASE WHEN cr + cw > inp THEN cr + cw ELSE 0 END AS inp, out, cr, cw, reasoning,
  CASE WHEN cost BETWEEN 0 AND 1000000 THEN CAST(cost AS DECIMAL(38, 12)) END AS cost,
  CASE WHEN status IS NULL THEN 'missing'
       WHEN status IN ('priced', 'estimated') AND NOT coalesce(cost BETWEEN 0 AND 1000000, false)
         THEN 'absurd'
       ELSE status END AS status,
  dur, CASE WHEN ttft BETWEEN 0 AND dur THEN ttft END AS ttft, tps, kind, keeps,
  pre, ttft_phase, gen, tool, post
FROM (
  SELECT trace_id AS t, span_id AS id, nullif(parent_span_id, '') AS p, coalesce(name, '') AS name,
    CAST(start_time_unix_nano AS BIGINT) AS st, CAST(end_time_unix_nano AS BIGINT) AS en,
    coalesce(status.code = 'ERROR', false) OR a."error.type" IS NOT NULL AS err,
    coalesce(a."gen_ai.operation.name" = 'invoke_agent'
             OR a."llm_cost.span.type" = 'agent_step', false) AS is_step,
    coalesce(nullif(a."llm_cost.step.name", ''),
      CASE WHEN a."gen_ai.operation.name" = 'invoke_agent' OR a."llm_cost.span.type" = 'agent_step'
           THEN nullif(name, '') END) AS step,
    nullif(a."gen_ai.agent.name", '') AS agent,
    coalesce(nullif(a."gen_ai.response.model", ''), nullif(a."gen_ai.request.model", '')) AS model,
    a."gen_ai.request.model" AS req_model,
    lower(coalesce(nullif(a."gen_ai.provider.name", ''), nullif(a."gen_ai.system", ''))) AS provider,
    nullif(a."gen_ai.response.id", '') AS rid, resource."service.name" AS service,
    coalesce(a."gen_ai.usage.input_tokens", a."gen_ai.usage.output_tokens",
             a."gen_ai.usage.prompt_tokens", a."gen_ai.usage.completion_tokens") IS NOT NULL
      AND NOT coalesce(a."gen_ai.operation.name" = 'invoke_agent'
                       OR a."llm_cost.span.type" = 'agent_step', false)
      AND coalesce(a."gen_ai.operation.name", '') NOT IN ('invoke_agent', 'create_agent', 'execute_tool')
      AS is_call,
    (? IS NULL OR start_time_unix_nano >= ?) AND (? IS NULL OR start_time_unix_nano < ?)
      AND (? IS NULL OR coalesce(resource."service.name" GLOB ?, false)) AS keeps,
    {_tokens("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")} AS inp,
    {_tokens("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")} AS out,
    {_tokens("gen_ai.usage.cache_read.input_tokens")} AS cr,
    {_tokens("gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens")} AS cw,
    {_tokens("gen_ai.usage.reasoning.output_tokens")} AS reasoning,
    CASE WHEN a."llm_cost.cost.status" IS NULL AND coalesce(a."gen_ai.usage.cost.currency", 'USD') = 'USD'
           THEN a."gen_ai.usage.cost.amount"
         WHEN a."llm_cost.cost.status" IN ('priced', 'estimated')
           THEN a."gen_ai.usage.cost.amount" END AS cost,
    a."llm_cost.cost.status" AS status,
    greatest(end_time_unix_nano - start_time_unix_nano, 0) / 1e9 AS dur,
    a."gen_ai.response.time_to_first_chunk" AS ttft,
    CASE WHEN isfinite(a."llm_cost.output_tokens_per_second") THEN a."llm_cost.output_tokens_per_second" END
      AS tps,
    CASE WHEN a."llm_cost.span.type" = 'agent_step' THEN 'step'
         WHEN a."gen_ai.operation.name" IN ('invoke_agent', 'create_agent') THEN 'agent'
         WHEN a."gen_ai.operation.name" = 'execute_tool' OR a."llm_cost.span.type" = 'tool' THEN 'tool'
         ELSE 'span' END AS kind,
    a."llm_cost.phase.pre_processing" AS pre, a."llm_cost.phase.time_to_first_token" AS ttft_phase,
    a."llm_cost.phase.generation" AS gen, a."llm_cost.phase.tool" AS tool,
    a."llm_cost.phase.post_processing" AS post
  FROM (SELECT *, attributes AS a FROM READER)
  WHERE trace_id IS NOT NULL AND span_id IS NOT NULL AND length(trace_id) <= 64 AND length(span_id) <= 64
    AND start_time_unix_nano BETWEEN 0 AND 9223372036854775807
    AND end_time_unix_nano BETWEEN 0 AND 9223372036854775807
)
"""

WRAPPERS: Final = """
CREATE TEMP TABLE below AS
WITH RECURSIVE up(k) AS (
  SELECT pk FROM s WHERE kept AND pk IS NOT NULL
  UNION
  SELECT s.pk FROM up JOIN s ON s.k = up.k WHERE s.pk IS NOT NULL
)
SELECT k FROM up
"""

# The calls that count (not wrappers; one span per response id and trace), each labelled by a walk up its
# ancestors that stops once both a step and an agent are known. USING KEY keeps one row per call, the
# latest, instead of every step of every walk (DuckDB 1.3+).
LABELS: Final = """
CREATE TEMP TABLE lab AS
WITH RECURSIVE walk(k, cur, step, agent, depth) USING KEY (k) AS (
  SELECT k, pk, step, agent, 0 FROM (
    SELECT s.k, s.pk, s.step, s.agent, s.rid, s.th, s.st FROM s ANTI JOIN below USING (k) WHERE s.kept
    QUALIFY rid IS NULL OR row_number() OVER (PARTITION BY th, rid ORDER BY st, k) = 1
  )
  UNION
  SELECT w.k, s.pk, coalesce(w.step, s.step), coalesce(w.agent, s.agent), w.depth + 1
  FROM walk w JOIN s ON s.k = w.cur
  WHERE (w.step IS NULL OR w.agent IS NULL) AND w.depth < 256
)
SELECT k, step, agent FROM walk
"""

CALLS: Final = """
CREATE TEMP TABLE c AS SELECT s.* EXCLUDE (step, agent), lab.step, lab.agent FROM s JOIN lab USING (k)
"""

# Figures of a group of calls, in the order of _duckdb._totals().
TOTALS: Final = """count(*), sum(err::INT), count(*) - count(cost), sum(inp), sum(out), sum(cr), sum(cw),
  sum(reasoning), coalesce(sum(cost), 0)"""

SUMMARY: Final = """count({v}), sum({v}), min({v}), max({v}), quantile_cont({v}, [0.5, 0.95, 0.99])"""

# Output tokens per second: the recorded rate, else output tokens over the generation time.
RATE: Final = """coalesce(tps, CASE WHEN out > 0 AND dur - coalesce(ttft, 0) > 0
  THEN out / (dur - coalesce(ttft, 0)) END)"""

# One row per trace with counted calls: what the rankings order by.
TRACES: Final = """
CREATE TEMP TABLE tr AS
WITH costs AS (
  SELECT th, any_value(t) AS t, coalesce(sum(cost), 0) AS cost, count(*) AS calls,
    count(*) - count(cost) AS unpriced
  FROM c GROUP BY th
), extent AS (
  SELECT th, min(st) AS st, max(en) AS en,
    coalesce(arg_min(name, st) FILTER (WHERE p IS NULL), arg_min(name, st)) AS root
  FROM s SEMI JOIN costs USING (th) GROUP BY th
)
SELECT t, th, cost, calls, unpriced, root, st, (en - st) / 1e9 AS duration FROM costs JOIN extent USING (th)
"""
