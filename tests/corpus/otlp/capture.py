"""Make the OTLP captures in this folder: a small LangChain app (a prompt, then a chat model) under a
real instrumentation library, talking to a stand-in for the OpenAI API on loopback, its spans sent
over OTLP/HTTP to a receiver on loopback that writes each export request as protobuf's standard
JSON mapping (ids in base64), one request per line.

    python tests/corpus/otlp/capture.py openlit     # needs: openlit langchain-openai
    python tests/corpus/otlp/capture.py openllmetry # needs: opentelemetry-instrumentation-langchain, -openai, langchain-openai

Not run by the tests (they read the files it wrote); kept so that anyone can make them again.
"""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

QUESTIONS = ["What is the capital of France?", "Write a haiku about observability."]
ANSWERS = {QUESTIONS[0]: ("The capital of France is Paris.", 24, 7), QUESTIONS[1]: ("Logs tell the story / " * 6, 23, 110)}


class FakeOpenAI(BaseHTTPRequestHandler):
    """Chat completions as the OpenAI API answers them, with usage; the answer and token counts by question."""

    def do_POST(self) -> None:
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        question = body["messages"][-1]["content"]
        text, prompt, completion = next(((a, p, c) for q, (a, p, c) in ANSWERS.items() if q in question), ("?", 10, 1))
        reply = json.dumps({"id": "chatcmpl-1", "object": "chat.completion", "created": 1767225600, "model": body["model"] + "-0125",
                            "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args: object) -> None:
        pass


def receiver(out: Path) -> type[BaseHTTPRequestHandler]:
    from google.protobuf.json_format import MessageToJson
    from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

    class Receiver(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers["Content-Length"]))
            if self.path.endswith("/v1/traces"):
                request = ExportTraceServiceRequest()
                request.ParseFromString(data)
                with out.open("a") as handle:
                    handle.write(json.dumps(json.loads(MessageToJson(request))) + "\n")
            self.send_response(200)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def log_message(self, *args: object) -> None:
            pass

    return Receiver


def app(instrumentation: str, api: str, otlp: str) -> None:
    """The instrumented app, in a process of its own."""
    import os

    os.environ["OPENAI_API_KEY"] = "sk-test"
    if instrumentation == "openlit":
        import openlit

        prices = Path(__file__).with_name("no-prices.json")  # OpenLit fetches prices from the network unless given a file
        prices.write_text("{}")
        openlit.init(otlp_endpoint=otlp, disable_metrics=True, pricing_json=str(prices))
    else:
        from opentelemetry import trace
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        from opentelemetry.instrumentation.langchain import LangchainInstrumentor
        from opentelemetry.instrumentation.openai import OpenAIInstrumentor
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor

        provider = TracerProvider()
        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=otlp + "/v1/traces")))
        trace.set_tracer_provider(provider)
        OpenAIInstrumentor().instrument()
        LangchainInstrumentor().instrument()
    from langchain_core.prompts import ChatPromptTemplate
    from langchain_openai import ChatOpenAI

    chain = ChatPromptTemplate.from_messages([("system", "You answer briefly."), ("user", "{question}")]) | ChatOpenAI(model="gpt-3.5-turbo", base_url=api)
    for question in QUESTIONS:
        chain.invoke({"question": question})
    from opentelemetry import trace

    trace.get_tracer_provider().force_flush()  # type: ignore[attr-defined]
    trace.get_tracer_provider().shutdown()  # type: ignore[attr-defined]


def main(instrumentation: str) -> None:
    out = Path(__file__).with_name(f"{instrumentation}-langchain.jsonl")
    out.unlink(missing_ok=True)
    api, otlp = ThreadingHTTPServer(("127.0.0.1", 0), FakeOpenAI), ThreadingHTTPServer(("127.0.0.1", 0), receiver(out))
    for server in (api, otlp):
        threading.Thread(target=server.serve_forever, daemon=True).start()
    subprocess.run([sys.executable, __file__, "--app", instrumentation, f"http://127.0.0.1:{api.server_port}/v1", f"http://127.0.0.1:{otlp.server_port}"],
                   check=True, timeout=120)
    time.sleep(0.5)
    print(f"{out}: {len(out.read_text().splitlines())} export requests")


if __name__ == "__main__":
    if sys.argv[1] == "--app":
        app(*sys.argv[2:5])
    else:
        main(sys.argv[1])
