"""Events, alert rules as data, and the sinks events go to (store, webhook, MQTT, SSE)."""

from .engine import Rule, RuleEngine, RuleError, load_rules, parse_rules
from .events import EVENT_TYPES, event_from_dict, event_json, event_to_dict, make_event
from .sinks import EventRouter, EventStore, JsonlSink, MemorySink, MqttSink, SinkConfig, SSEBroadcaster, WebhookSink

__all__ = [
    "EVENT_TYPES", "EventRouter", "EventStore", "JsonlSink", "MemorySink", "MqttSink", "Rule", "RuleEngine", "RuleError",
    "SSEBroadcaster", "SinkConfig", "WebhookSink", "event_from_dict", "event_json",
    "event_to_dict", "load_rules", "make_event", "parse_rules",
]
