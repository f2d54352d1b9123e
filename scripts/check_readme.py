"""The README's first command, tried as a developer uses it, in the test command
(scripts/test.sh). Against one `scripts/run-local.sh`:

1. a request sent while the function's first build is still running is answered (the
   source is touched first, so a build is due);
2. every README example (a ```sh block with one curl or `cargo lambda invoke`, then a
   ```json block) answers the JSON shown ("..." matches any value), each tried once;
3. schemathesis runs docs/openapi.yaml against the local function with all its checks
   (scripts/schemathesis_hooks.py says what it restricts and why) and its seed printed;
4. after 35 s idle (more than the 30 s that once made the watcher cut the function's poll
   short), then after a source edit, four more requests are each answered, and the
   function never panicked.

Loopback only; ports 9000 and 9100 must be free."""
import json
import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
HEALTH = "curl -s -m 900 http://127.0.0.1:9000/lambda-url/wa-dispatch/v1/health"
SEED = os.environ.get("SCHEMATHESIS_SEED", "20261126")


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


class Run:
    def __init__(self, log_path):
        self.log_path = log_path
        self.env = dict(os.environ, PATH=f"{ROOT}/.venv/bin:" + os.environ["PATH"])
        self.failed = 0

    def log(self):
        with open(self.log_path, errors="replace") as f:
            return f.read()

    def starts(self):
        """How many times the watcher has started the function so far."""
        return self.log().count("Running `target/debug/wa-dispatch`")

    def check_true(self, what, ok):
        print(("ok     " if ok else "FAILED ") + what)
        self.failed += 0 if ok else 1

    def answer(self, command, timeout=900):
        run = subprocess.run(["bash", "-c", command], cwd=ROOT, env=self.env, capture_output=True, text=True,
                             timeout=timeout)
        try:
            return json.loads(run.stdout.strip())
        except ValueError:
            return {"not JSON": run.stdout.strip()[:300], "stderr": run.stderr.strip()[-300:]}

    def check(self, label, want, got):
        errors = matches(want, got)
        print(("ok     " if not errors else "FAILED ") + label)
        for e in errors:
            print("       " + e)
        self.failed += bool(errors)


def schemathesis(run):
    print(f"schemathesis: docs/openapi.yaml, all checks, 40 examples per operation, seed {SEED}")
    env = dict(run.env, SCHEMATHESIS_HOOKS="schemathesis_hooks", PYTHONPATH=f"{ROOT}/scripts",
               PYTHONDONTWRITEBYTECODE="1")
    # Run from outside the project: the files schemathesis writes in its working directory
    # would make the watcher restart the function mid-run.
    with tempfile.TemporaryDirectory() as cwd:
        result = subprocess.run(
            [f"{ROOT}/.venv/bin/schemathesis", "run", f"{ROOT}/docs/openapi.yaml",
             "--url", "http://127.0.0.1:9000/lambda-url/wa-dispatch",
             "--checks", "all", "--exclude-checks", "positive_data_acceptance",
             "--max-examples", "40", "--seed", SEED, "--generation-database", "none", "--no-color"],
            cwd=cwd, env=env, capture_output=True, text=True, timeout=900)
    summary = [line for line in result.stdout.splitlines() if line.strip()][-12:]
    print("\n".join("       " + line for line in summary))
    ok = result.returncode == 0
    print(("ok     " if ok else "FAILED ") + f"schemathesis (seed {SEED})")
    if not ok:
        print(result.stdout[-6000:])
    run.failed += not ok


def main():
    readme = open(os.path.join(ROOT, "README.md")).read()
    pairs = list(examples(readme))
    assert len(pairs) >= 3, "the README shows its examples"
    health = {"status": "ok", "version": "..."}
    main_rs = os.path.join(ROOT, "src", "main.rs")
    original = open(main_rs).read()
    os.utime(main_rs)  # a first build is due, whatever target/ holds
    log = tempfile.NamedTemporaryFile("w+", suffix=".log", delete=False)
    server = subprocess.Popen(["bash", "scripts/run-local.sh"], cwd=ROOT, start_new_session=True,
                              stdout=log, stderr=subprocess.STDOUT)
    run = Run(log.name)
    try:
        assert wait_for(9000, 900) and wait_for(9100, 60), "run-local.sh did not start:\n" + run.log()[-3000:]
        # 0. The run command talks to its user: a first line at once, then each step named in
        # order, and it installs only the run's own tool.
        lines = run.log().splitlines()
        run.check_true("the run's first line says what it runs", bool(lines) and lines[0].startswith("wa-dispatch local run:"))
        steps = [next((i for i, l in enumerate(lines) if l.startswith(f"[{n}/3]")), None) for n in (1, 2, 3)]
        run.check_true("each step of the run is announced, in order", None not in steps and steps == sorted(steps))
        wanted = [l.split("==")[0].strip() for l in open(os.path.join(ROOT, "scripts", "requirements-run.txt")) if "==" in l]
        run.check_true("the run installs only cargo-lambda", wanted == ["cargo-lambda"])
        # 1. The function is built on the first request: this one waits for that build.
        assert run.starts() == 0, "the function was already running"
        run.check("a request during the first build", health, run.answer(HEALTH))

        # 2. The README's examples, each tried once.
        for command, want in pairs:
            run.check(command.splitlines()[0][:100], want, run.answer(command, timeout=300))

        # 3. The spec against the function.
        schemathesis(run)

        # 4. An idle function, then an edited source.
        time.sleep(35)
        run.check("a request after 35 s idle", health, run.answer(HEALTH))
        starts = run.starts()
        with open(main_rs, "a") as f:
            f.write("// check_readme.py: an edit, to see the local run rebuild and go on serving\n")
        deadline = time.time() + 900
        while run.starts() == starts and time.time() < deadline:
            time.sleep(1)
        rebuilt = run.starts() > starts
        print(("ok     " if rebuilt else "FAILED ") + "the edit rebuilt and restarted the function")
        run.failed += not rebuilt
        for i in range(3):
            run.check(f"request {i + 1} of 3 after the rebuild", health, run.answer(HEALTH))
        panicked = [line for line in run.log().splitlines() if "panicked" in line]
        print(("ok     " if not panicked else "FAILED ") + "no panic in the local run's output")
        for line in panicked:
            print("       " + line)
        run.failed += bool(panicked)
    finally:
        with open(main_rs, "w") as f:
            f.write(original)
        os.killpg(server.pid, signal.SIGTERM)
        server.wait(timeout=30)
        if run.failed:
            print("--- the local run's output, last lines ---\n" + run.log()[-4000:])
        os.unlink(log.name)
    total = len(pairs) + 7
    print(f"{total - run.failed} passed, {run.failed} failed")
    sys.exit(1 if run.failed else 0)


if __name__ == "__main__":
    main()
