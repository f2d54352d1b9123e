"""Cold-start benchmark: starts the built function N times against a minimal Lambda Runtime
API on loopback and measures (1) init: process start to its first `/invocation/next`,
(2) the first invocation (a health check over a function URL event: no network call),
(3) the first send of a dry run, and the peak RSS. Prints median and p90.

    cargo build --release --bin wa-dispatch
    python3 scripts/bench_cold_start.py [target/release/wa-dispatch] [runs]
"""
import json
import os
import statistics
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def event(path, method, body=None):
    e = json.load(open(os.path.join(ROOT, "events", "function-url.json")))
    e["rawPath"] = path
    e["requestContext"]["http"]["method"] = method
    e["requestContext"]["http"]["path"] = path
    e["body"] = body
    e["headers"].pop("x-request-id", None)
    return e


EVENTS = [
    event("/v1/health", "GET"),
    event("/v1/messages", "POST", json.dumps({"provider": "bitbybit", "to": "+62 812 3456 0100",
                                              "template": "welcome_message", "dry_run": True})),
]


class Runtime(BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        s = self.server
        now = time.perf_counter()
        if s.first_poll is None:
            s.first_poll = now
        if s.next_event >= len(EVENTS):
            s.done.set()
            time.sleep(5)
            return
        i = s.next_event
        s.next_event += 1
        s.sent_at[i] = now
        body = json.dumps(EVENTS[i]).encode()
        self.send_response(200)
        self.send_header("lambda-runtime-aws-request-id", f"bench-{i}")
        self.send_header("lambda-runtime-deadline-ms", str(int(time.time() * 1000) + 30000))
        self.send_header("content-length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_POST(self):
        length = int(self.headers.get("content-length", 0))
        self.rfile.read(length)
        i = int(self.path.split("/")[-2].split("-")[-1])
        self.server.answered_at[i] = time.perf_counter()
        self.send_response(202)
        self.send_header("content-length", "0")
        self.end_headers()


def one_run(binary):
    server = ThreadingHTTPServer(("127.0.0.1", 0), Runtime)
    server.first_poll, server.next_event, server.done = None, 0, threading.Event()
    server.sent_at, server.answered_at = {}, {}
    threading.Thread(target=server.serve_forever, daemon=True).start()
    env = {
        "PATH": os.environ["PATH"], "AWS_LAMBDA_RUNTIME_API": f"127.0.0.1:{server.server_port}",
        "AWS_LAMBDA_FUNCTION_NAME": "wa-dispatch", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": "256",
        "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST", "PROVIDER_SECRETS_FILE": os.path.join(ROOT, "local", "secrets.json"),
        "BITBYBIT_BASE_URL": "http://127.0.0.1:9/bitbybit", "AUTOCALLS_BASE_URL": "http://127.0.0.1:9/autocalls",
        "RUST_LOG": "warn",
    }
    started = time.perf_counter()
    proc = subprocess.Popen([binary], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    server.done.wait(30)
    # Peak resident memory so far, as Lambda reports "Max Memory Used".
    status = open(f"/proc/{proc.pid}/status").read()
    rss_kb = next(int(line.split()[1]) for line in status.splitlines() if line.startswith("VmHWM:"))
    proc.terminate()
    proc.wait(timeout=10)
    server.shutdown()
    return {
        "init_ms": (server.first_poll - started) * 1000,
        "health_ms": (server.answered_at[0] - server.sent_at[0]) * 1000,
        "dry_run_ms": (server.answered_at[1] - server.sent_at[1]) * 1000,
        "rss_mb": rss_kb / 1024,
    }


def main():
    binary = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target", "release", "wa-dispatch")
    runs = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    results = [one_run(binary) for _ in range(runs)]
    print(f"{binary}: {runs} cold starts")
    for key in ["init_ms", "health_ms", "dry_run_ms", "rss_mb"]:
        values = sorted(r[key] for r in results)
        p90 = values[min(len(values) - 1, int(len(values) * 0.9))]
        print(f"  {key:11} median {statistics.median(values):7.2f}   p90 {p90:7.2f}")


if __name__ == "__main__":
    main()
