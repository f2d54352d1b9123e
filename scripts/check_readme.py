"""Runs the README's local examples against `scripts/run-local.sh` and checks each answer
against the JSON the README shows after it ("..." matches any value), so that the README
cannot go stale. Started by scripts/test.sh; loopback only."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def matches(want, got, path="$"):
    if want == "...":
        return []
    if isinstance(want, dict) and isinstance(got, dict):
        errors = [f"{path}.{k}: missing" for k in want if k not in got]
        errors += [f"{path}.{k}: unexpected" for k in got if k not in want]
        for k in want:
            if k in got:
                errors += matches(want[k], got[k], f"{path}.{k}")
        return errors
    if isinstance(want, list) and isinstance(got, list) and len(want) == len(got):
        return [e for i, (w, g) in enumerate(zip(want, got)) for e in matches(w, g, f"{path}[{i}]")]
    return [] if want == got else [f"{path}: want {want!r}, got {got!r}"]


def examples(readme):
    """(command, expected JSON) pairs: a ```sh block of one command followed by a ```json block."""
    blocks = re.findall(r"```(sh|json)\n(.*?)```", readme, re.S)
    for (kind, text), (next_kind, answer) in zip(blocks, blocks[1:]):
        command = text.strip()
        if kind == "sh" and next_kind == "json" and ("curl " in command or "lambda invoke" in command):
            yield command, json.loads(answer)


def wait_for(port, seconds):
    deadline = time.time() + seconds
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return True
        except OSError:
            time.sleep(0.5)
    return False


def main():
    readme = open(os.path.join(ROOT, "README.md")).read()
    pairs = list(examples(readme))
    assert len(pairs) >= 3, "the README shows its examples"
    server = subprocess.Popen(["bash", "scripts/run-local.sh"], cwd=ROOT, start_new_session=True,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    failed = 0
    try:
        assert wait_for(9000, 300) and wait_for(9100, 60), "run-local.sh did not start"
        env = dict(os.environ, PATH=f"{ROOT}/.venv/bin:" + os.environ["PATH"])
        for command, want in pairs:
            got_text = ""
            for _ in range(60):  # the first invoke waits for `cargo lambda watch` to build
                run = subprocess.run(["bash", "-c", command], cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
                got_text = run.stdout.strip()
                if got_text.startswith("{"):
                    break
                time.sleep(2)
            try:
                errors = matches(want, json.loads(got_text))
            except ValueError:
                errors = [f"not JSON: {got_text[:300]!r}"]
            print(("ok     " if not errors else "FAILED ") + command.splitlines()[0][:100])
            for e in errors:
                print("       " + e)
            failed += bool(errors)
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
    print(f"{len(pairs) - failed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
