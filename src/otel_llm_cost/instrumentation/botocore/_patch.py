"""The wrapper of ``botocore.client.BaseClient._make_api_call`` for Bedrock's runtime operations.

Every botocore client of every service sends through ``_make_api_call(operation_name, api_params)``, so
one wrapper on the base class sees every Bedrock call, from clients made before or after instrumenting,
with the operation's name, its parameters (the model id is a parameter, the request body another) and
the parsed response, before the caller gets it. Other services' and other operations' calls pass
straight through after one dict lookup.

Nothing here reads request headers or the endpoint's credentials: a span gets the model id, the request
body's parameters, the endpoint's host and port, and the response. SigV4 signatures, session tokens and
presigned URLs never pass through this code.
"""

from __future__ import annotations

import functools
import urllib.parse
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from opentelemetry import context
from opentelemetry.instrumentation.utils import is_instrumentation_enabled
from opentelemetry.trace import set_span_in_context

from otel_llm_cost import attributes as attr
from otel_llm_cost._log import log_once
from otel_llm_cost.apis import bedrock, bedrock_content, bedrock_invoke
from otel_llm_cost.apis._api import WireRequest
from otel_llm_cost.budget._hook import admit_request
from otel_llm_cost.instrumentation._invocation import LLMInvocation
from otel_llm_cost.instrumentation.botocore import _active, _body, _streams

if TYPE_CHECKING:
    from opentelemetry.trace import Tracer

    from otel_llm_cost.apis._api import WireApi
    from otel_llm_cost.budget import BudgetGuard, Ticket

Wrapper = Callable[[Callable[..., Any], Any, tuple[Any, ...], dict[str, Any]], Any]

SERVICE: Final = "bedrock-runtime"
_APIS: Final[Mapping[str, WireApi]] = {
    "Converse": bedrock.CONVERSE,
    "ConverseStream": bedrock.CONVERSE_STREAM,
    "InvokeModel": bedrock_invoke.INVOKE_MODEL,
    "InvokeModelWithResponseStream": bedrock_invoke.INVOKE_MODEL_WITH_RESPONSE_STREAM,
}
_STREAM_KEYS: Final[Mapping[str, str]] = {"ConverseStream": "stream", "InvokeModelWithResponseStream": "body"}
# How a stream's output message is rebuilt from its events, when content is captured.
_STREAM_CONTENT: Final[Mapping[str, _streams.OutputContent]] = {
    "ConverseStream": bedrock_content.converse_stream_output_attributes,
    "InvokeModelWithResponseStream": bedrock_content.invoke_stream_output_attributes,
}
# Request fields the budget guard reads to estimate a call's worst case, under each family's name.
_BUDGET_CONTENT: Final = ("messages", "system", "tools", "prompt", "inputText", "message", "texts")


def make_api_call(tracer: Tracer, guard: BudgetGuard | None = None, capture_content: bool = False) -> Wrapper:
    """The wrapper of ``BaseClient._make_api_call``: one LLM span per Bedrock runtime call.

    Args:
        tracer: the instrumentation's tracer.
        guard: the budget guard that admits each call before it is sent, if any.
        capture_content: record messages (``gen_ai.input.messages``...), as the user opted in.
    """

    def wrapper(
        wrapped: Callable[..., Any], instance: Any, args: tuple[Any, ...], kwargs: dict[str, Any]
    ) -> Any:
        operation, params = _arguments(args, kwargs)
        api = _APIS.get(operation) if isinstance(operation, str) else None
        if api is None or _active.llm_span_open() or not is_instrumentation_enabled():
            return wrapped(*args, **kwargs)
        if _service(instance) != SERVICE or not isinstance(params, Mapping):
            return wrapped(*args, **kwargs)
        call = _start(tracer, guard, api, operation, instance, params)  # may raise BudgetExceeded
        if call is None:
            return wrapped(*args, **kwargs)
        if capture_content:
            call.capture()
        token = _active.open_llm_span()
        current = context.attach(set_span_in_context(call.invocation.span))
        try:
            result = wrapped(operation, call.params)
        except BaseException as error:
            call.failed(error)
            raise
        finally:
            context.detach(current)
            _active.close_llm_span(token)
        return call.returned(result)

    return wrapper


def _arguments(args: tuple[Any, ...], kwargs: Mapping[str, Any]) -> tuple[Any, Any]:
    operation = args[0] if args else kwargs.get("operation_name")
    params = args[1] if len(args) > 1 else kwargs.get("api_params")
    return operation, params


def _service(client: Any) -> str | None:
    try:
        return client.meta.service_model.service_name  # type: ignore[no-any-return]
    except Exception:
        return None


# --- one call ------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Call:
    """One Bedrock call, from its parameters to the end of its span."""

    invocation: LLMInvocation
    api: WireApi
    operation: str
    request: WireRequest
    params: Mapping[str, Any]
    capturing: bool = False

    def capture(self) -> None:
        """Record the call's messages: the request's now, the response's at the end."""
        try:
            self.invocation.add_attributes(bedrock_content.input_attributes(self.request.body))
            self.capturing = True
        except Exception:
            log_once(
                "botocore.content",
                "otel-llm-cost could not record a Bedrock request's messages",
                exc_info=True,
            )

    def failed(self, error: BaseException) -> None:
        self.invocation.fail(error, response_attributes=_error_attributes(error))

    def returned(self, result: Any) -> Any:
        """End the span with the response, or hand it to what will (a stream, an unread body)."""
        try:
            if not isinstance(result, dict):
                self.invocation.stop(None)
                return result
            self.invocation.add_attributes(_metadata_attributes(result))
            stream_key = _STREAM_KEYS.get(self.operation)
            if stream_key is not None:
                content = _STREAM_CONTENT[self.operation] if self.capturing else None
                stream = result.get(stream_key)
                result[stream_key] = _streams.observed(
                    stream, self.invocation, self.api, self.request, content
                )
            elif self.operation == "InvokeModel":
                headers = _headers(result)
                result["body"] = _body.observed(result.get("body"), self.invocation, headers, self.capturing)
            else:
                self._stop_with(result)
        except Exception:
            log_once("botocore.finish", "otel-llm-cost could not record a Bedrock call", exc_info=True)
            self.invocation.stop(None)
        return result

    def _stop_with(self, response: Mapping[str, Any]) -> None:
        fields = self.api.response_fields(response, self.request)
        if self.capturing:
            finish = bedrock_content.finish_reason_of(fields.attributes)
            fields.attributes.update(bedrock_content.output_attributes(response, finish))
        self.invocation.stop(fields.usage, response_attributes=fields.attributes)


def _start(
    tracer: Tracer,
    guard: BudgetGuard | None,
    api: WireApi,
    operation: str,
    instance: Any,
    params: Mapping[str, Any],
) -> _Call | None:
    ticket = None
    if guard is not None:  # may raise BudgetExceeded: refused before anything is sent
        ticket, params = _admit(guard, api, params)
    try:
        request = _wire_request(api, instance, params)
        model = api.request_model(request)
        attributes = api.request_attributes(request)
        host, port = request.host, request.port
        if host:
            attributes[attr.SERVER_ADDRESS] = host
            attributes[attr.SERVER_PORT] = port  # type: ignore[assignment]
        invocation = LLMInvocation(
            tracer,
            operation=_operation_name(api, model),
            provider=bedrock.PROVIDER_NAME,
            request_model=model,
            attributes=attributes,
        )
        if ticket is not None:
            ticket.bind(invocation)
    except Exception:
        log_once("botocore.start", "otel-llm-cost could not start recording a Bedrock call", exc_info=True)
        if ticket is not None:
            ticket.abandon()
        return None
    return _Call(invocation, api, operation, request, params)


def _operation_name(api: WireApi, model: str | None) -> str:
    if api is bedrock_invoke.INVOKE_MODEL:
        return bedrock_invoke.operation_for(model)
    return api.operation


def _wire_request(api: WireApi, client: Any, params: Mapping[str, Any]) -> WireRequest:
    """The call as the wire will show it: the rooms read every capture layer's calls the same way."""
    model = params.get("modelId")
    host, port = _endpoint(client)
    # InvokeModel: the family's own JSON (if passed as bytes or text); Converse: the parameters themselves.
    body = bedrock_invoke.decode_request_body(params.get("body")) if "body" in params else params
    path = api.path(model) if isinstance(model, str) else "/"  # type: ignore[attr-defined]
    return WireRequest("POST", host, port, path, body=body, provider=bedrock.PROVIDER_NAME)


def _endpoint(client: Any) -> tuple[str | None, int | None]:
    try:
        return _host_and_port(client.meta.endpoint_url)
    except Exception:  # an endpoint we cannot parse only costs the server attributes
        return None, None


@functools.lru_cache(maxsize=64)  # a process talks to a few endpoints: parsed once each
def _host_and_port(endpoint_url: str) -> tuple[str | None, int | None]:
    url = urllib.parse.urlsplit(endpoint_url)
    return url.hostname, url.port or (443 if url.scheme == "https" else 80)


def _admit(
    guard: BudgetGuard, api: WireApi, params: Mapping[str, Any]
) -> tuple[Ticket | None, Mapping[str, Any]]:
    try:
        request = _budget_request(params)
    except Exception:
        log_once("botocore.budget", "otel-llm-cost could not check a Bedrock call's budget", exc_info=True)
        return None, params
    operation = _operation_name(api, request.get("model"))
    ticket, admitted = admit_request(guard, bedrock.PROVIDER_NAME, operation, request)
    if admitted.get("model") != request.get("model"):  # downgraded: send the cheaper model instead
        params = {**params, "modelId": admitted["model"]}
    return ticket, params


def _budget_request(params: Mapping[str, Any]) -> dict[str, Any]:
    """The call's parameters as the budget guard reads them: model, content and the output cap."""
    body = bedrock_invoke.decode_request_body(params.get("body")) if "body" in params else params
    body = body or {}
    request: dict[str, Any] = {"model": params.get("modelId")}
    for name in _BUDGET_CONTENT:
        if name in body:
            request[name] = body[name]
    limit = bedrock_invoke.invoke_request_attributes(body, stream=False).get(attr.GEN_AI_REQUEST_MAX_TOKENS)
    if limit is not None:
        request["max_tokens"] = limit
    return request


# --- response metadata -----------------------------------------------------------------------------------


def _headers(result: Mapping[str, Any]) -> Mapping[str, Any]:
    headers = result.get("ResponseMetadata", {}).get("HTTPHeaders")
    return headers if isinstance(headers, Mapping) else {}


def _metadata_attributes(result: Mapping[str, Any]) -> dict[str, Any]:
    request_id = result.get("ResponseMetadata", {}).get("RequestId")
    return {attr.AWS_REQUEST_ID: request_id} if isinstance(request_id, str) and request_id else {}


def _error_attributes(error: BaseException) -> dict[str, Any] | None:
    response = getattr(error, "response", None)  # botocore's ClientError
    return _metadata_attributes(response) if isinstance(response, Mapping) else None
