"""Plain-text timeline of one finished request, for `TraceContext.summary()`."""

from __future__ import annotations

from datetime import datetime


def _start_of(record: dict[str, object]) -> datetime:
    return datetime.fromisoformat(str(record["start"]).replace("Z", "+00:00"))


def render_timeline(trace_id: str, records: list[dict[str, object]], omitted: int = 0) -> str:
    """Spans indented by depth with offsets from the request start, then tokens by model."""
    spans = [r for r in records if r.get("type") == "span"]
    usage = [r for r in records if r.get("type") == "usage"]
    lines = [f"trace {trace_id}"]
    if not spans:
        lines.append("  (no finished spans yet)")
    else:
        children: dict[object, list[dict[str, object]]] = {}
        ids = {r["span_id"] for r in spans}
        for span in sorted(spans, key=_start_of):
            parent = span.get("parent_id")
            children.setdefault(parent if parent in ids else None, []).append(span)
        origin = min(_start_of(s) for s in spans)

        def walk(parent: object, depth: int) -> None:
            for span in children.get(parent, []):
                offset_ms = (_start_of(span) - origin).total_seconds() * 1000
                status = str(span["status"])
                error = span.get("error")
                if isinstance(error, dict):
                    status += f" {error.get('type')}: {error.get('message') or ''}".rstrip()
                attempt = span.get("attempt")
                retry = f" (attempt {attempt})" if attempt else ""
                label = "  " * depth + str(span["name"])
                lines.append(f"  +{offset_ms:9.1f} ms  {label:<32} {float(span['duration_ms']):9.1f} ms  {status}{retry}")
                walk(span["span_id"], depth + 1)

        walk(None, 0)
    for record in usage:
        tokens_in = record.get("input_tokens")
        tokens_out = record.get("output_tokens")
        shown_in = "?" if tokens_in is None else tokens_in
        shown_out = "?" if tokens_out is None else tokens_out
        lines.append(f"  tokens: {shown_in} in / {shown_out} out  {record.get('model')}")
    if omitted:
        lines.append(f"  … {omitted} more records not shown (they are in the log)")
    return "\n".join(lines)
