"""Every span attribute name this package reads or writes.

``gen_ai.*`` names follow the OpenTelemetry GenAI semantic conventions (now maintained in the
``semantic-conventions-genai`` repository; the names we emit and their definitions are pinned, with the
upstream commit, in ``tests/semconv_snapshot/``). ``gen_ai.usage.cost.*`` follows the open proposal for a
standard cost attribute, semantic-conventions-genai PR #443
(https://github.com/open-telemetry/semantic-conventions-genai/pull/443), which is NOT merged: the names may
still change, and we follow the proposal as it does (its ``gen_ai.client.operation.cost`` histogram is not
emitted until then). ``llm_cost.*`` names are our own.
"""

from typing import Final

# --- GenAI semantic conventions: request -------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"
GEN_AI_SYSTEM: Final = "gen_ai.system"  # deprecated predecessor of gen_ai.provider.name; read only
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_AGENT_ID: Final = "gen_ai.agent.id"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"  # metric attribute: input | output (default edition)
GEN_AI_TOKEN_MODALITY: Final = "gen_ai.token.modality"  # metric attribute (latest edition)
GEN_AI_REQUEST_REASONING_LEVEL: Final = "gen_ai.request.reasoning.level"
GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID: Final = "gen_ai.request.previous_response.id"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"

# --- GenAI semantic conventions: response ------------------------------------------------------
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"
ANTHROPIC_REQUEST_ID: Final = "anthropic.request.id"
AWS_REQUEST_ID: Final = "aws.request_id"  # the x-amzn-RequestId of a Bedrock call

# --- GenAI semantic conventions: usage ---------------------------------------------------------
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"
# Older name of cache_write, still emitted by some producers; read only.
GEN_AI_USAGE_CACHE_CREATION_INPUT_TOKENS: Final = "gen_ai.usage.cache_creation.input_tokens"
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"
# Deprecated predecessors, read only (older producers).
GEN_AI_USAGE_PROMPT_TOKENS: Final = "gen_ai.usage.prompt_tokens"
GEN_AI_USAGE_COMPLETION_TOKENS: Final = "gen_ai.usage.completion_tokens"

# --- Cost: the proposed GenAI shape (semantic-conventions-genai PR #443, unmerged) ---------------
GEN_AI_USAGE_COST_AMOUNT: Final = "gen_ai.usage.cost.amount"
GEN_AI_USAGE_COST_CURRENCY: Final = "gen_ai.usage.cost.currency"
GEN_AI_USAGE_COST_SOURCE: Final = "gen_ai.usage.cost.source"
GEN_AI_USAGE_COST: Final = "gen_ai.usage.cost"  # optional mirror for backends that read this name

# --- General conventions -----------------------------------------------------------------------
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"

# --- Ours: usage provenance and details --------------------------------------------------------
LLM_COST_USAGE_SOURCE: Final = "llm_cost.usage.source"
LLM_COST_USAGE_CACHE_WRITE_5M: Final = "llm_cost.usage.cache_write_5m.input_tokens"
LLM_COST_USAGE_CACHE_WRITE_1H: Final = "llm_cost.usage.cache_write_1h.input_tokens"
# Billed units beyond text tokens (#17), named after genai-prices' usage keys: the GenAI conventions
# define no per-modality or server-tool usage names (checked: semantic-conventions-genai registry.yaml).
LLM_COST_USAGE_UNIT_PREFIX: Final = "llm_cost.usage."  # + input_audio_tokens, web_searches, ...
LLM_COST_USAGE_ITERATIONS_KINDS: Final = "llm_cost.usage.iterations.kinds"
LLM_COST_USAGE_ITERATIONS_MODELS: Final = "llm_cost.usage.iterations.models"
LLM_COST_USAGE_ITERATIONS_INPUT: Final = "llm_cost.usage.iterations.input_tokens"
LLM_COST_USAGE_ITERATIONS_OUTPUT: Final = "llm_cost.usage.iterations.output_tokens"
LLM_COST_USAGE_ITERATIONS_CACHE_READ: Final = "llm_cost.usage.iterations.cache_read.input_tokens"
LLM_COST_USAGE_ITERATIONS_CACHE_WRITE: Final = "llm_cost.usage.iterations.cache_write.input_tokens"
LLM_COST_STREAM_OUTCOME: Final = "llm_cost.stream.outcome"
# false on the span of a call the SDK refused before sending a request (not an LLM call; no error)
LLM_COST_REQUEST_SENT: Final = "llm_cost.request.sent"
LLM_COST_STREAM_CHUNKS: Final = "llm_cost.stream.chunks"
# Billing units a token usage cannot express (OpenAI images and audio, #14): recorded, and the call unpriced.
LLM_COST_USAGE_IMAGES: Final = "llm_cost.usage.images"
LLM_COST_USAGE_AUDIO_SECONDS: Final = "llm_cost.usage.audio_seconds"
LLM_COST_USAGE_INPUT_CHARACTERS: Final = "llm_cost.usage.input_characters"
LLM_COST_UNPRICED_REASON: Final = "llm_cost.cost.unpriced_reason"

# --- Ours: cost breakdown ----------------------------------------------------------------------
LLM_COST_COST_INPUT: Final = "llm_cost.cost.input"
LLM_COST_COST_OUTPUT: Final = "llm_cost.cost.output"
LLM_COST_COST_CACHE_READ: Final = "llm_cost.cost.cache_read"
LLM_COST_COST_CACHE_WRITE: Final = "llm_cost.cost.cache_write"
LLM_COST_COST_REASONING: Final = "llm_cost.cost.reasoning"
LLM_COST_COST_STATUS: Final = "llm_cost.cost.status"
LLM_COST_COST_PREFIX: Final = "llm_cost.cost."  # + a part beyond the five above: input_audio, web_searches...
LLM_COST_COST_UNPRICED_UNITS: Final = "llm_cost.cost.unpriced_units"  # units the price data cannot price
# --- Ours: sampling (#17) -------------------------------------------------------------------------
LLM_COST_SAMPLING_PROBABILITY: Final = "llm_cost.sampling.probability"
LLM_COST_PRICING_VERSION: Final = "llm_cost.pricing.version"
LLM_COST_PRICING_MODEL: Final = "llm_cost.pricing.model"

# --- Ours: roll-up totals on ancestors of LLM spans --------------------------------------------
LLM_COST_TOTAL_COST: Final = "llm_cost.total.cost"
LLM_COST_TOTAL_INPUT_TOKENS: Final = "llm_cost.total.input_tokens"
LLM_COST_TOTAL_OUTPUT_TOKENS: Final = "llm_cost.total.output_tokens"
LLM_COST_TOTAL_CACHE_READ_TOKENS: Final = "llm_cost.total.cache_read.input_tokens"
LLM_COST_TOTAL_CACHE_WRITE_TOKENS: Final = "llm_cost.total.cache_write.input_tokens"
LLM_COST_TOTAL_REASONING_TOKENS: Final = "llm_cost.total.reasoning.output_tokens"
LLM_COST_TOTAL_LLM_CALLS: Final = "llm_cost.total.llm_calls"
LLM_COST_TOTAL_UNPRICED_CALLS: Final = "llm_cost.total.unpriced_calls"
LLM_COST_TOTAL_PARTIAL_CALLS: Final = "llm_cost.total.partial_calls"
LLM_COST_TOTAL_COST_BY_PART_PREFIX: Final = (
    "llm_cost.total.cost_by_part."  # + web_searches, advisor_message...
)

# --- Ours: latency phases of an agent step (seconds), and per-call generation --------------------
LLM_COST_PHASE_PRE_PROCESSING: Final = "llm_cost.phase.pre_processing"
LLM_COST_PHASE_TIME_TO_FIRST_TOKEN: Final = "llm_cost.phase.time_to_first_token"
LLM_COST_PHASE_GENERATION: Final = "llm_cost.phase.generation"
LLM_COST_PHASE_TOOL: Final = "llm_cost.phase.tool"
LLM_COST_PHASE_POST_PROCESSING: Final = "llm_cost.phase.post_processing"
LLM_COST_OUTPUT_TOKENS_PER_SECOND: Final = "llm_cost.output_tokens_per_second"
LLM_COST_PHASE: Final = "llm_cost.phase"  # metric attribute: which phase
LLM_COST_STEP_NAME: Final = "llm_cost.step.name"
LLM_COST_SPAN_TYPE: Final = "llm_cost.span.type"  # "agent_step" | "tool" | "agent_run"
LLM_COST_OUTCOME: Final = "llm_cost.outcome"  # agent step / tool: success | failure | timeout | cancelled

# --- Ours: budgets and detectors ----------------------------------------------------------------
LLM_COST_BUDGET_KEY: Final = "llm_cost.budget.key"
LLM_COST_BUDGET_LIMIT: Final = "llm_cost.budget.limit"
LLM_COST_BUDGET_SPENT: Final = "llm_cost.budget.spent"
LLM_COST_BUDGET_WINDOW: Final = "llm_cost.budget.window"
LLM_COST_BUDGET_ACTION: Final = "llm_cost.budget.action"
LLM_COST_BUDGET_RESERVED: Final = "llm_cost.budget.reserved"
EVENT_BUDGET_WARNING: Final = "llm_cost.budget.warning"
EVENT_BUDGET_BLOCKED: Final = "llm_cost.budget.blocked"
EVENT_LATENCY_DEGRADATION: Final = "llm_cost.anomaly.latency_degradation"
EVENT_TOKEN_SPIKE: Final = "llm_cost.anomaly.token_spike"
EVENT_LOOP_DETECTED: Final = "llm_cost.anomaly.loop"
LLM_COST_BUDGET_UNIT: Final = "llm_cost.budget.unit"  # "usd" | "tokens" | "calls"
LLM_COST_BUDGET_REQUESTED: Final = "llm_cost.budget.requested"  # the call's worst-case estimate
LLM_COST_BUDGET_REPLACEMENT_MODEL: Final = "llm_cost.budget.replacement_model"  # a downgrade's model
LLM_COST_ANOMALY_KIND: Final = "llm_cost.anomaly.kind"  # "latency_degradation" | "token_spike" | "loop"
LLM_COST_ANOMALY_SIGNAL: Final = "llm_cost.anomaly.signal"  # ttft, duration, call_tokens, run_tokens, step
LLM_COST_ANOMALY_SUBJECT: Final = "llm_cost.anomaly.subject"  # provider/model, or the repeated step
LLM_COST_ANOMALY_OBSERVED: Final = "llm_cost.anomaly.observed"
LLM_COST_ANOMALY_BASELINE: Final = "llm_cost.anomaly.baseline"
LLM_COST_ANOMALY_THRESHOLD: Final = "llm_cost.anomaly.threshold"

# --- Values ------------------------------------------------------------------------------------
STREAM_COMPLETED: Final = "completed"
STREAM_ABANDONED: Final = "abandoned"
STREAM_CANCELLED: Final = "cancelled"
STREAM_ERROR: Final = "error"
COST_PRICED: Final = "priced"
COST_UNPRICED: Final = "unpriced"
COST_ESTIMATED: Final = "estimated"
COST_IMPLAUSIBLE: Final = "implausible"  # beyond the bounds of _numbers: no amount, counted unpriced
COST_PARTIAL: Final = "partial"  # priced, but some billed unit could not be (see unpriced_units)
COST_SOURCE_LOCAL: Final = "local"
COST_SOURCE_PROVIDER: Final = "provider"
