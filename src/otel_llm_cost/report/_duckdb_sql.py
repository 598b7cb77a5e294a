"""The SQL of the DuckDB engine (see :mod:`._duckdb`): the same rules as the Python path, set-wise.

One read of the input fills the table ``s``: one narrow row per span, typed columns taken straight from the
JSONL (only the attributes the report uses), ids hashed into integer keys. Everything after works
on ``s`` and smaller tables, never on the file again:

- ``w``: the wrappers, calls with a call below them. Only calls with children can be one, and their
  descendants are walked down only as far as the next call, so each span is visited at most once.
- ``c``: the calls that count (not wrappers; one per response id and trace), each labelled with the
  nearest step and agent among itself and its ancestors. The walk up starts from the calls' distinct
  parents (a step's calls share one walk) and stops once both labels are known.
- ``tr``: one row per trace with counted calls, which the rankings order.
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
    # Counts and the cost are read as text and cast where they are used (_tokens, _COST), as the Python
    # path reads them: a numeric string is cast, anything else is NULL. Typed DOUBLE or DECIMAL, DuckDB
    # read `true` as 1 (a token, a dollar) and skipped a whole line whose value was an object.
    "gen_ai.usage.input_tokens": "VARCHAR",
    "gen_ai.usage.output_tokens": "VARCHAR",
    "gen_ai.usage.prompt_tokens": "VARCHAR",
    "gen_ai.usage.completion_tokens": "VARCHAR",
    "gen_ai.usage.cache_read.input_tokens": "VARCHAR",
    "gen_ai.usage.cache_write.input_tokens": "VARCHAR",
    "gen_ai.usage.cache_creation.input_tokens": "VARCHAR",
    "gen_ai.usage.reasoning.output_tokens": "VARCHAR",
    "gen_ai.usage.cost.amount": "VARCHAR",
    "gen_ai.usage.cost.currency": "VARCHAR",
    # JSON, to tell a number from a string (the Python path reads only numbers here).
    "llm_cost.sampling.probability": "JSON",
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
    value = "coalesce(" + ", ".join(f'TRY_CAST(a."{n}" AS DOUBLE)' for n in names) + ")"
    return f"CASE WHEN {value} BETWEEN 0 AND 9007199254740992 THEN CAST(floor({value}) AS BIGINT) ELSE 0 END"


_INPUT: Final = _tokens("gen_ai.usage.input_tokens", "gen_ai.usage.prompt_tokens")
_OUTPUT: Final = _tokens("gen_ai.usage.output_tokens", "gen_ai.usage.completion_tokens")
_CACHE_READ: Final = _tokens("gen_ai.usage.cache_read.input_tokens")
_CACHE_WRITE: Final = _tokens(
    "gen_ai.usage.cache_write.input_tokens", "gen_ai.usage.cache_creation.input_tokens"
)
_REASONING: Final = _tokens("gen_ai.usage.reasoning.output_tokens")
_MODEL: Final = """coalesce(nullif(a."gen_ai.response.model", ''), nullif(a."gen_ai.request.model", ''))"""
_PROVIDER: Final = """lower(coalesce(nullif(a."gen_ai.provider.name", ''), nullif(a."gen_ai.system", '')))"""
_TTFT: Final = 'a."gen_ai.response.time_to_first_chunk"'
_RATE: Final = 'a."llm_cost.output_tokens_per_second"'
_COST: Final = 'TRY_CAST(a."gen_ai.usage.cost.amount" AS DECIMAL(38, 24))'
_PROBABILITY: Final = """CASE
  WHEN json_type(a."llm_cost.sampling.probability") IN ('DOUBLE', 'UBIGINT', 'BIGINT')
  THEN TRY_CAST(a."llm_cost.sampling.probability" AS DOUBLE) END"""
_STEP: Final = """coalesce(a."gen_ai.operation.name" = 'invoke_agent'
  OR a."llm_cost.span.type" = 'agent_step', false)"""

# READER is replaced by the read_ndjson call (its arguments must be literals), KEEPS by the time and
# service filter and MODEL by the model filter (``true`` when not filtering).
SPANS: Final = f"""
CREATE TABLE s AS
SELECT hash(t, id) AS k, CASE WHEN p IS NOT NULL THEN hash(t, p) END AS pk, hash(t) AS th,
  name, st, en, err, is_step, step, agent, kind, kept, keeps,
  CASE WHEN kept THEN t END AS t,
  CASE WHEN kept AND rid IS NOT NULL THEN hash(t, rid) END AS rh,
  CASE WHEN kept THEN {_MODEL} END AS model,
  CASE WHEN kept THEN {_PROVIDER} END AS provider,
  CASE WHEN kept THEN {_INPUT} + CASE WHEN {_CACHE_READ} + {_CACHE_WRITE} > {_INPUT}
    THEN {_CACHE_READ} + {_CACHE_WRITE} ELSE 0 END END AS inp,
  CASE WHEN kept THEN {_OUTPUT} END AS out,
  CASE WHEN kept THEN {_CACHE_READ} END AS cr,
  CASE WHEN kept THEN {_CACHE_WRITE} END AS cw,
  CASE WHEN kept THEN {_REASONING} END AS reasoning,
  CASE WHEN kept AND cost BETWEEN 0 AND 1000000 THEN cost END AS cost,
  CASE WHEN NOT kept THEN NULL
       WHEN status IS NULL THEN 'missing'
       WHEN status IN ('priced', 'estimated') AND NOT coalesce(cost BETWEEN 0 AND 1000000, false)
         THEN 'absurd'
       ELSE status END AS status,
  CASE WHEN kept AND {_TTFT} BETWEEN 0 AND greatest(en - st, 0) / 1e9 THEN {_TTFT} END AS ttft,
  CASE WHEN kept AND isfinite({_RATE}) THEN {_RATE} END AS tps,
  CASE WHEN kept AND {_PROBABILITY} > 0 AND {_PROBABILITY} <= 1 THEN {_PROBABILITY} END AS prob,
  CASE WHEN is_step THEN a."llm_cost.phase.pre_processing" END AS pre,
  CASE WHEN is_step THEN a."llm_cost.phase.time_to_first_token" END AS ttft_phase,
  CASE WHEN is_step THEN a."llm_cost.phase.generation" END AS gen,
  CASE WHEN is_step THEN a."llm_cost.phase.tool" END AS tool,
  CASE WHEN is_step THEN a."llm_cost.phase.post_processing" END AS post
FROM (
  SELECT *, is_call AND keeps AND MODEL AS kept FROM (
    SELECT a, trace_id AS t, span_id AS id, nullif(parent_span_id, '') AS p, coalesce(name, '') AS name,
      CAST(start_time_unix_nano AS BIGINT) AS st, CAST(end_time_unix_nano AS BIGINT) AS en,
      coalesce(status.code = 'ERROR', false) OR a."error.type" IS NOT NULL AS err,
      {_STEP} AS is_step,
      coalesce(nullif(a."llm_cost.step.name", ''), CASE WHEN {_STEP} THEN nullif(name, '') END) AS step,
      nullif(a."gen_ai.agent.name", '') AS agent,
      {_MODEL} AS model, a."gen_ai.request.model" AS req_model,
      nullif(a."gen_ai.response.id", '') AS rid,
      coalesce(a."gen_ai.usage.input_tokens", a."gen_ai.usage.output_tokens",
               a."gen_ai.usage.prompt_tokens", a."gen_ai.usage.completion_tokens") IS NOT NULL
        AND NOT {_STEP}
        AND coalesce(a."gen_ai.operation.name", '') NOT IN ('invoke_agent', 'create_agent', 'execute_tool')
        AS is_call,
      KEEPS AS keeps,
      CASE WHEN a."llm_cost.cost.status" IN ('priced', 'estimated')
             OR (a."llm_cost.cost.status" IS NULL AND coalesce(a."gen_ai.usage.cost.currency", 'USD') = 'USD')
           THEN {_COST} END AS cost,
      a."llm_cost.cost.status" AS status,
      CASE WHEN a."llm_cost.span.type" = 'agent_step' THEN 'step'
           WHEN a."gen_ai.operation.name" IN ('invoke_agent', 'create_agent') THEN 'agent'
           WHEN a."gen_ai.operation.name" = 'execute_tool' OR a."llm_cost.span.type" = 'tool' THEN 'tool'
           ELSE 'span' END AS kind
    FROM (SELECT *, attributes AS a FROM READER)
    WHERE trace_id IS NOT NULL AND span_id IS NOT NULL AND length(trace_id) <= 64 AND length(span_id) <= 64
      AND start_time_unix_nano BETWEEN 0 AND 9223372036854775807
      AND end_time_unix_nano BETWEEN 0 AND 9223372036854775807
  )
)
"""

# Wrappers: kept calls with a kept call among their descendants. Only calls that are some span's parent
# can be one; from each, the walk goes down through spans that are not kept calls and stops at the
# first kept call on each branch (which decides), so a span is walked from its nearest call above only.
WRAPPERS: Final = """
CREATE TEMP TABLE w AS
WITH RECURSIVE down(top, k, kept) AS (
  SELECT parents.k, s.k, s.kept FROM (
    SELECT k FROM s WHERE kept AND k IN (SELECT pk FROM s WHERE pk IS NOT NULL)
  ) AS parents JOIN s ON s.pk = parents.k
  UNION
  SELECT down.top, s.k, s.kept FROM down JOIN s ON s.pk = down.k WHERE NOT down.kept
)
SELECT DISTINCT top AS k FROM down WHERE kept
"""

# Of two spans with one response id in a trace (wrappers aside), all but the first are not counted.
TWINS: Final = """
CREATE TEMP TABLE twins AS
WITH calls AS (SELECT k, rh, st FROM s WHERE rh IS NOT NULL AND k NOT IN (SELECT k FROM w))
SELECT k FROM calls WHERE rh IN (SELECT rh FROM calls GROUP BY rh HAVING count(*) > 1)
QUALIFY row_number() OVER (PARTITION BY rh ORDER BY st, k) > 1
"""

# The nearest step and agent above each call lacking one: one walk per distinct parent, through the spans
# that are not counted calls (a counted call is no call's ancestor), stopping once both are known. The
# first step up (hop: the parent and its own parent, enough for a call under a step under its agent) is
# one join, one row per parent; only the walks still lacking a label recurse, and USING KEY keeps one row
# per walk, the latest, instead of every step of every walk (DuckDB 1.3+).
LABELS: Final = """
CREATE TEMP TABLE up AS
WITH RECURSIVE tree AS MATERIALIZED (
  SELECT k, pk, step, agent FROM s WHERE NOT kept OR k IN (SELECT k FROM w)
), hop AS MATERIALIZED (
  SELECT p.k AS start, g.pk AS cur, coalesce(p.step, g.step) AS step, coalesce(p.agent, g.agent) AS agent,
    g.k IS NOT NULL AS moved
  FROM tree AS p LEFT JOIN tree AS g ON g.k = p.pk AND (p.step IS NULL OR p.agent IS NULL)
  WHERE p.k IN (SELECT pk FROM s WHERE kept AND (step IS NULL OR agent IS NULL))
  QUALIFY row_number() OVER (PARTITION BY p.k) = 1
), walk(start, cur, step, agent, depth) USING KEY (start) AS (
  SELECT start, cur, step, agent, 1 FROM hop WHERE moved AND (step IS NULL OR agent IS NULL)
  UNION
  SELECT walk.start, tree.pk, coalesce(walk.step, tree.step), coalesce(walk.agent, tree.agent), walk.depth + 1
  FROM walk JOIN tree ON tree.k = walk.cur
  WHERE (walk.step IS NULL OR walk.agent IS NULL) AND walk.depth < 256
)
SELECT hop.start AS k, coalesce(walk.step, hop.step) AS step, coalesce(walk.agent, hop.agent) AS agent
FROM hop LEFT JOIN walk USING (start)
"""


def counted(table: str = "") -> str:
    """The condition that a span (of ``table``, when a join needs it named) is a call that counts: kept,
    not a wrapper, not a twin."""
    at = f"{table}." if table else ""
    return f"{at}kept AND {at}k NOT IN (SELECT k FROM w) AND {at}k NOT IN (SELECT k FROM twins)"


COUNTED: Final = counted()

# The timeline's bucket width: from 1 s, doubled until the counted calls' start times span at most
# BUCKETS buckets, as the Python path's timeline ends up. Its own statement, so that no aggregate of the
# calls waits for all of them (their rows stream to every aggregate at once, none held in memory).
WIDTH: Final = f"""
SELECT coalesce(min(w), 1000000000) AS w
FROM (SELECT CAST(1000000000 AS BIGINT) << CAST(i AS INTEGER) AS w FROM range(34) AS r(i)),
  (SELECT min(st) AS low, max(st) AS high FROM s WHERE {COUNTED})
WHERE high // w - low // w + 1 <= BUCKETS"""

# The rest is one statement's common table expressions. c: the calls that count (COUNTED), labelled. Its
# rows stream to all its readers at once (the aggregates and the traces' costs; none needs all of them
# first), so the calls are never held in memory, however many.
CALLS: Final = f"""
c AS MATERIALIZED (
  SELECT s.th, s.t, s.st, greatest(s.en - s.st, 0) / 1e9 AS dur, s.err, s.model, s.provider, s.inp, s.out,
    s.cr, s.cw, s.reasoning, s.cost, s.status, s.ttft, s.tps, s.k, s.prob,
    coalesce(s.step, up.step) AS step, coalesce(s.agent, up.agent) AS agent
  FROM s LEFT JOIN up ON up.k = s.pk
  WHERE {counted("s")}
)"""

# One row per trace with counted calls (what the rankings order by), and the ranked ones: TOP and PIN
# are replaced by the number of traces each ranking keeps and the trace id (or prefix) asked for.
TRACES: Final = """
costs AS (
  SELECT th, any_value(t) AS t, coalesce(sum(cost), 0) AS cost, count(*) AS calls,
    count(*) - count(cost) AS unpriced
  FROM c GROUP BY th
),
extent AS (SELECT th, min(st) AS st, max(en) AS en FROM s SEMI JOIN costs USING (th) GROUP BY th),
tr AS MATERIALIZED (
  SELECT t, th, cost, calls, unpriced, st, (en - st) / 1e9 AS duration FROM costs JOIN extent USING (th)
),
ranked AS MATERIALIZED (
  SELECT * FROM (SELECT 'expensive' AS ranking, * FROM tr ORDER BY cost DESC, calls DESC, t LIMIT TOP)
  UNION ALL
  SELECT * FROM (SELECT 'slowest' AS ranking, * FROM tr ORDER BY duration DESC, cost DESC, t LIMIT TOP)
  UNION ALL
  SELECT * FROM (
    SELECT 'pinned' AS ranking, * FROM tr WHERE t = PIN OR (length(PIN) >= 8 AND starts_with(t, PIN))
    ORDER BY t LIMIT 1
  )
)"""

# The spans of the ranked traces, for their views: the first VIEW_SPANS of each by start time (a view
# shows fewer), with the trace's number of spans.
VIEWS: Final = f"""
SELECT th, k, pk, name, kind, st, en, err, step, agent, [pre, ttft_phase, gen, tool, post] AS phases, kept,
  coalesce({COUNTED}, false) AS counted, inp, out, cost, model, count(*) OVER (PARTITION BY th) AS spans
FROM s WHERE th IN (SELECT th FROM ranked)
QUALIFY row_number() OVER (PARTITION BY th ORDER BY st, k) <= VIEW_SPANS"""

# The sampled estimate (#17), as _sampling.SampleEstimate sums it: each trace's calls with a probability
# stand for 1/p traces (p: the trace's lowest, where the Python path takes its first call's); calls without
# one are counted apart.
SAMPLING: Final = """
SELECT sum(unknown) AS unknown, sum(known) AS known, min(p) AS low, max(high) AS high,
  coalesce(sum(cost / p), 0) AS cost, coalesce(sum(known / p), 0) AS calls,
  coalesce(sum((1 - p) / (p * p) * cost * cost), 0) AS variance
FROM (
  SELECT count(*) - count(prob) AS unknown, count(prob) AS known, min(prob) AS p, max(prob) AS high,
    CAST(coalesce(sum(cost) FILTER (WHERE prob IS NOT NULL), 0) AS DOUBLE) AS cost
  FROM c GROUP BY th
)"""

# Figures of a group of calls, as _duckdb_stats.totals() reads them.
TOTALS: Final = """count(*) AS calls, sum(err::INT) AS errors, count(*) - count(cost) AS unpriced,
  sum(inp) AS inp, sum(out) AS out, sum(cr) AS cr, sum(cw) AS cw, sum(reasoning) AS reasoning,
  coalesce(sum(cost), 0) AS cost"""

# Output tokens per second: the recorded rate, else output tokens over the generation time.
RATE: Final = """coalesce(tps, CASE WHEN out > 0 AND dur - coalesce(ttft, 0) > 0
  THEN out / (dur - coalesce(ttft, 0)) END)"""
