"""Traces and metrics through OpenTelemetry, behind the Telemetry port.

Where they go is the exporter's business: Application Insights in Azure (the Azure Monitor
exporter), JSON-lines files in a local folder the harness reads, or nowhere. Exporters run on the
SDK's background threads, never on the event loop.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from opentelemetry.context import Context
from opentelemetry.metrics import Histogram
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import (
    ConsoleMetricExporter,
    MetricExporter,
    MetricReader,
    PeriodicExportingMetricReader,
)
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.util import ns_to_iso_str
from opentelemetry.trace import format_span_id, format_trace_id
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

_PROPAGATOR = TraceContextTextMapPropagator()


class OtelTelemetry:
    def __init__(
        self,
        service_name: str,
        spans: SpanExporter | None,
        metrics: MetricExporter | None,
        metric_interval_s: float = 10.0,
    ) -> None:
        resource = Resource.create({"service.name": service_name})
        self._tracer_provider = TracerProvider(resource=resource)
        if spans is not None:
            self._tracer_provider.add_span_processor(BatchSpanProcessor(spans))
        readers: list[MetricReader] = []
        if metrics is not None:
            readers.append(
                PeriodicExportingMetricReader(
                    metrics, export_interval_millis=metric_interval_s * 1000
                )
            )
        self._meter_provider = MeterProvider(resource=resource, metric_readers=readers)
        self._tracer = self._tracer_provider.get_tracer("spy-hybrid")
        self._meter = self._meter_provider.get_meter("spy-hybrid")
        self._histograms: dict[str, Histogram] = {}

    @contextmanager
    def span(
        self,
        name: str,
        parent: Mapping[str, str] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> Iterator[dict[str, str]]:
        context: Context | None = _PROPAGATOR.extract(dict(parent)) if parent else None
        with self._tracer.start_as_current_span(name, context=context, attributes=attributes):
            carrier: dict[str, str] = {}
            _PROPAGATOR.inject(carrier)
            yield carrier

    def record_span(
        self,
        name: str,
        start_ns: int,
        end_ns: int,
        parent: Mapping[str, str] | None = None,
        attributes: Mapping[str, str] | None = None,
    ) -> None:
        context: Context | None = _PROPAGATOR.extract(dict(parent)) if parent else None
        span = self._tracer.start_span(
            name, context=context, attributes=attributes, start_time=start_ns
        )
        span.end(end_time=end_ns)

    def metric(self, name: str, value: float, attributes: Mapping[str, str] | None = None) -> None:
        histogram = self._histograms.get(name)
        if histogram is None:
            histogram = self._histograms[name] = self._meter.create_histogram(name)
        histogram.record(value, attributes)

    def shutdown(self) -> None:
        """Flushes what is buffered; spans still queued are exported before this returns."""
        self._tracer_provider.shutdown()
        self._meter_provider.shutdown()


def to_files(service_name: str, folder: Path) -> OtelTelemetry:
    """Spans and metrics as JSON lines in `folder`, one file each per service: the local
    topology's stand-in for Application Insights, readable by the harness's report."""
    folder.mkdir(parents=True, exist_ok=True)
    span_file: IO[str] = (folder / f"{service_name}.spans.jsonl").open("a", encoding="utf-8")
    metric_file: IO[str] = (folder / f"{service_name}.metrics.jsonl").open("a", encoding="utf-8")
    return OtelTelemetry(
        service_name,
        ConsoleSpanExporter(out=span_file, formatter=_span_line),
        ConsoleMetricExporter(
            out=metric_file, formatter=lambda data: data.to_json(indent=None) + "\n"
        ),
    )


def _span_line(span: ReadableSpan) -> str:
    """One span as a JSON line, in the shape of the SDK's `to_json`, which pretty-prints each
    span's resource with the pure-Python JSON encoder: its closures are cyclic garbage, and the
    collector's passes over them stalled the bot's event loop for tens of milliseconds."""
    context, parent = span.context, span.parent
    line = {
        "name": span.name,
        "context": {
            "trace_id": f"0x{format_trace_id(context.trace_id)}",
            "span_id": f"0x{format_span_id(context.span_id)}",
        }
        if context
        else None,
        "kind": str(span.kind),
        "parent_id": f"0x{format_span_id(parent.span_id)}" if parent else None,
        "start_time": ns_to_iso_str(span.start_time) if span.start_time else None,
        "end_time": ns_to_iso_str(span.end_time) if span.end_time else None,
        "status": {"status_code": span.status.status_code.name},
        "attributes": dict(span.attributes or {}),
        "events": [
            {
                "name": e.name,
                "timestamp": ns_to_iso_str(e.timestamp),
                "attributes": dict(e.attributes or {}),
            }
            for e in span.events
        ],
        "resource": {"attributes": dict(span.resource.attributes)},
    }
    return json.dumps(line) + "\n"


def to_application_insights(service_name: str, connection_string: str) -> OtelTelemetry:
    """Production: the Azure Monitor exporters. Their background senders (statsbeat, control
    plane, offline retry storage) follow the APPLICATIONINSIGHTS_* switches of the environment.
    Imported here: the exporter package is heavy and only production needs it."""
    from azure.monitor.opentelemetry.exporter import (
        AzureMonitorMetricExporter,
        AzureMonitorTraceExporter,
    )

    return OtelTelemetry(
        service_name,
        AzureMonitorTraceExporter(connection_string=connection_string),
        AzureMonitorMetricExporter(connection_string=connection_string),
        metric_interval_s=60.0,
    )


def disabled(service_name: str) -> OtelTelemetry:
    """Spans still carry a W3C context across the VPN; nothing is exported."""
    return OtelTelemetry(service_name, None, None)
