"""Polytope's standard library end to end: expand files/polytope.yml, run the plan, check the result.

Until the template role lands, the plan (from the collection's expander) is run by a playbook this
script writes: build-image steps with `docker build`, the other steps with polytope.core.container.
Checks: polytope/python serves HTTP from the mounted code with its requirements installed;
polytope/postgres initialises an empty data volume from its scripts once and keeps it across a
re-creation; both run images that earlier build-image steps built.

Usage: python e2e.py

STDLIB_E2E_DATA=volume|host|auto puts the database on a project volume, on a host directory, or (auto,
the default) on a volume when the container module supports one. Needs the collection importable as
ansible_collections.polytope.core, ansible-playbook on PATH, the Docker SDK, and scripts/images.sh's
images.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

from ansible_collections.polytope.core.plugins.module_utils import _template

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = "stdlib-e2e"
PROJECT = "stdlib-e2e"
SECRET = "hunter2-stdlib"


class PlaybookFailed(SystemExit):
    def __init__(self, message: str, output: str) -> None:
        super().__init__(message)
        self.output = output


VOLUMES_MISSING = "mount source type 'volume' is not supported yet"


def log(message: str) -> None:
    print(f"[stdlib-e2e] {message}", flush=True)


def make_wheel(directory: str) -> None:
    """A minimal wheel, so that `pip install -r requirements.txt` needs no index."""
    os.makedirs(directory, exist_ok=True)
    files = {
        "hellostdlib/__init__.py": "def greeting():\n    return 'hello from polytope/python'\n",
        "hellostdlib-1.0.dist-info/METADATA": "Metadata-Version: 2.1\nName: hellostdlib\nVersion: 1.0\n",
        "hellostdlib-1.0.dist-info/WHEEL": "Wheel-Version: 1.0\nGenerator: stdlib-e2e\nRoot-Is-Purelib: true\nTag: py3-none-any\n",
    }
    record = []
    for name, text in files.items():
        digest = base64.urlsafe_b64encode(hashlib.sha256(text.encode()).digest()).rstrip(b"=").decode()
        record.append(f"{name},sha256={digest},{len(text.encode())}")
    record.append("hellostdlib-1.0.dist-info/RECORD,,")
    files["hellostdlib-1.0.dist-info/RECORD"] = "\n".join(record) + "\n"
    with zipfile.ZipFile(os.path.join(directory, "hellostdlib-1.0-py3-none-any.whl"), "w") as wheel:
        for name, text in files.items():
            wheel.writestr(name, text)


def prepare(work: str, data: str) -> None:
    shutil.copytree(os.path.join(HERE, "files"), work, dirs_exist_ok=True)
    make_wheel(os.path.join(work, "app", "wheels"))
    if data == "host":
        # for a container module without volume sources yet: the data directory on the host instead
        path = os.path.join(work, "polytope.yml")
        with open(path) as handle:
            text = handle.read()
        volume = "data-volume: {type: volume, scope: project, id: stdlib-pg-data}"
        assert volume in text
        with open(path, "w") as handle:
            handle.write(text.replace(volume, "data-volume: {type: host, path: ./pgdata}"))
        os.makedirs(os.path.join(work, "pgdata"))
    import pip  # the controller's pip: pure Python, copied into the derived image

    shutil.copytree(
        os.path.dirname(pip.__file__),
        os.path.join(work, "python-pip", "pip"),
        ignore=shutil.ignore_patterns("__pycache__"),
    )


def plan_for(work: str) -> dict:
    with open(os.path.join(work, "polytope.yml")) as handle:
        text = handle.read()
    return _template.expand(text, "polytope.yml", TEMPLATE, secrets={"pg-password": SECRET}, project=PROJECT)


def check_plan(plan: dict) -> None:
    steps = {step["step"]: step for step in plan["steps"]}
    assert [step["step"] for step in plan["steps"]] == ["python-pip-image", "pg-standin-image", "web", "db"]
    assert steps["python-pip-image"]["kind"] == "build_image"
    web = steps["web"]["args"]
    assert web["workdir"] == "/app", web
    assert [m["path"] for m in web["mounts"]] == ["/app", "/requirements.txt"], web
    assert web["cmd"] == ["sh", "-c", "pip install -r /requirements.txt; python3 server.py"], web
    db = steps["db"]["args"]
    assert [m["path"] for m in db["mounts"]] == [
        "/var/lib/postgresql/data",
        "/docker-entrypoint-initdb.d/01-data-backup.sql",
        "/docker-entrypoint-initdb.d/02-data-backup.sql",
    ], db
    assert db["tty"] is False and db["id"] == "stdlib-db"
    assert steps["db"]["secret"] is True
    log("plan: OK")


def playbook(plan: dict, work: str, state: str, recreate: tuple = ()) -> str:
    tasks = []
    for step in plan["steps"]:
        args = dict(step["args"])
        if step["kind"] == "build_image":
            if state == "absent":
                continue
            command = [
                "docker",
                "build",
                "-q",
                "-f",
                os.path.join(args["context"], args.get("dockerfile", "Dockerfile")),
            ]
            for tag in args["tags"]:
                command += ["-t", tag]
            command.append(args["context"])
            tasks.append({"name": f"build {step['step']}", "ansible.builtin.command": {"argv": command, "chdir": work}})
            continue
        args.update(
            state="absent" if state == "absent" else step["state"], project_dir=work, stop_timeout=2, wait_timeout=180
        )
        if step["step"] in recreate:
            args["recreate"] = True
        task = {
            "name": f"{state} {step['step']}",
            "polytope.core.container": args,
            "register": f"r_{step['step'].replace('-', '_')}",
        }
        if step.get("secret"):
            task["no_log"] = True
        tasks.append(task)
    plays = [{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]
    path = os.path.join(work, f"{state}.yml")
    with open(path, "w") as handle:
        json.dump(plays, handle, indent=1)
    return path


def run_playbook(path: str) -> str:
    command = [
        "ansible-playbook",
        "-i",
        "localhost,",
        "-c",
        "local",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        path,
    ]
    result = subprocess.run(command, capture_output=True, text=True, check=False)
    sys.stdout.write(result.stdout[-6000:])
    if result.returncode != 0:
        sys.stdout.write(result.stderr[-4000:])
        raise PlaybookFailed(
            f"ansible-playbook {os.path.basename(path)} failed ({result.returncode})", result.stdout + result.stderr
        )
    assert SECRET not in result.stdout + result.stderr, "the secret leaked into the output"
    return result.stdout


def http_get(url: str, deadline: float = 60) -> str:
    end = time.monotonic() + deadline
    while True:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return response.read().decode()
        except OSError:
            if time.monotonic() > end:
                raise
            time.sleep(1)


def pg_state(port: int = 5432) -> dict:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as conn:
        conn.sendall(b"STATE\n")
        data = b""
        while not data.endswith(b"\n"):
            chunk = conn.recv(65536)
            if not chunk:
                break
            data += chunk
    return json.loads(data)


def main() -> None:
    data = os.environ.get("STDLIB_E2E_DATA", "auto")
    if data == "auto":
        try:
            run(data="volume")
        except PlaybookFailed as exc:
            if VOLUMES_MISSING not in exc.output:
                raise
            log("the container module has no volume sources yet: the database goes on a host directory")
            run(data="host")
    else:
        run(data=data)
    log("all checks passed")


def run(data: str) -> None:
    work = tempfile.mkdtemp(prefix="stdlib-e2e.")
    prepare(work, data)
    plan = plan_for(work)
    check_plan(plan)
    try:
        run_playbook(playbook(plan, work, "up"))
        body = http_get("http://127.0.0.1:18080/")
        assert body == "hello from polytope/python from /app\n", body
        log("polytope/python: code at /app, requirements installed, HTTP served: OK")
        state = pg_state()
        assert state["db"] == "CREATE TABLE greeting (text varchar);\nINSERT INTO greeting VALUES ('hello');\n", state
        assert (state["inits"], state["starts"], state["password_set"]) == (1, 1, True), state
        log("polytope/postgres: scripts ran in order on the empty data volume: OK")

        second = run_playbook(playbook(plan, work, "up"))
        assert "changed: [localhost] => (item" not in second
        for name in ("up web", "up db"):
            block = second.split(f"TASK [{name}]", 1)[1].split("TASK [", 1)[0]
            assert "ok: [localhost]" in block, (name, block)
        log("second run: containers unchanged: OK")

        run_playbook(playbook(plan, work, "up", recreate=("db",)))
        state = pg_state()
        assert (state["inits"], state["starts"]) == (1, 2), state
        log("polytope/postgres: re-created container reused the data volume without re-running scripts: OK")
    finally:
        try:
            run_playbook(playbook(plan, work, "absent"))
        except PlaybookFailed as exc:
            if VOLUMES_MISSING not in exc.output:
                raise
        volumes = subprocess.run(
            ["docker", "volume", "ls", "-q"], capture_output=True, text=True, check=True
        ).stdout.split()
        for volume in volumes:
            if "stdlib-pg-data" in volume:
                subprocess.run(["docker", "volume", "rm", "-f", volume], check=False, capture_output=True)
        for tag in ("polytope-test/python-pip:stdlib", "polytope-test/pg-standin:stdlib"):
            subprocess.run(["docker", "image", "rm", "-f", tag], check=False, capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
