"""Polytope's standard library end to end: files/polytope.yml through polytope.core.up and polytope.core.down.

The template runs as a user runs it: `ansible-playbook polytope.core.up -e template_name=stdlib-e2e`
from a directory holding the polytope.yml (a temporary copy of files/), in a separate process.
Checks: the plan (from the collection's expander); polytope/python serves HTTP from the mounted code
with its requirements installed; polytope/postgres initialises an empty data volume (a `volume` mount
source with `scope: project`) from its scripts once, and keeps it when its container is removed by
polytope.core.down and made again by polytope.core.up; both run images that earlier build-image steps
built; a second run changes nothing; the secret never appears in the output.

Usage: python e2e.py

Needs the collection importable as ansible_collections.polytope.core (runme.sh sets PYTHONPATH),
ansible-playbook on PATH, ANSIBLE_COLLECTIONS_PATH naming the collection, the Docker SDK and
scripts/images.sh's images.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
import zipfile

from ansible_collections.polytope.core.plugins.module_utils import _language

HERE = os.path.dirname(os.path.abspath(__file__))
TEMPLATE = "stdlib-e2e"
PROJECT = "stdlib-e2e"
SECRET = "hunter2-stdlib"
VOLUME = f"{PROJECT}.stdlib-pg-data"
IMAGES = ("polytope-test/python-pip:stdlib", "polytope-test/pg-standin:stdlib")
CONTAINERS = (f"{PROJECT}.stdlib-web", f"{PROJECT}.stdlib-db")


class PlaybookFailed(SystemExit):
    pass


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


def prepare(work: str) -> None:
    shutil.copytree(os.path.join(HERE, "files"), work, dirs_exist_ok=True)
    make_wheel(os.path.join(work, "app", "wheels"))
    import pip  # the controller's pip: pure Python, copied into the derived image

    shutil.copytree(
        os.path.dirname(pip.__file__),
        os.path.join(work, "python-pip", "pip"),
        ignore=shutil.ignore_patterns("__pycache__"),
    )
    # the secret goes in a vars file, never on a command line
    with open(os.path.join(work, "secrets.json"), "w") as handle:
        json.dump({"template_secrets": {"pg-password": SECRET}}, handle)
    os.chmod(os.path.join(work, "secrets.json"), 0o600)


def check_plan(work: str) -> None:
    with open(os.path.join(work, "polytope.yml")) as handle:
        text = handle.read()
    plan = _language.expand(text, "polytope.yml", TEMPLATE, secrets={"pg-password": SECRET}, project=PROJECT)
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
    assert db["mounts"][0]["source"] == {"type": "volume", "scope": "project", "id": "stdlib-pg-data"}, db
    assert db["tty"] is False and db["id"] == "stdlib-db"
    assert steps["db"]["secret"] is True
    log("plan: OK")


def run_playbook(work: str, playbook: str) -> dict:
    """ansible-playbook polytope.core.<playbook> in `work`; returns the recap's counts."""
    extra = {
        "template_project": PROJECT,
        "template_state_dir": os.path.join(work, ".state"),
        "template_container_options": {"stop_timeout": 2, "wait_timeout": 180},
    }
    command = [
        "ansible-playbook",
        f"polytope.core.{playbook}",
        "-e",
        f"template_name={TEMPLATE}",
        "-e",
        f"ansible_python_interpreter={sys.executable}",
        "-e",
        "@secrets.json",
        "-e",
        json.dumps(extra),
    ]
    # polytope.core.up takes polytope.yml from $PWD, like Polytope's own CLI
    env = dict(os.environ, PWD=work, ANSIBLE_NOCOLOR="1")
    result = subprocess.run(command, cwd=work, env=env, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    sys.stdout.write(result.stdout[-4000:])
    assert SECRET not in output, "the secret leaked into the output"
    if result.returncode != 0:
        sys.stdout.write(result.stderr[-4000:])
        raise PlaybookFailed(f"ansible-playbook polytope.core.{playbook} failed ({result.returncode})")
    recap = re.search(r"ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", result.stdout)
    assert recap, "no play recap"
    return {"ok": int(recap[1]), "changed": int(recap[2]), "failed": int(recap[4])}


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


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], capture_output=True, text=True, check=False).stdout.strip()


def container_ids() -> list[str]:
    return [docker("inspect", "--format", "{{.Id}}", name) for name in CONTAINERS]


def leftovers() -> dict:
    return {
        "containers": docker("ps", "-a", "--filter", f"label=polytope.project={PROJECT}", "--format", "{{.Names}}"),
        "network": docker("network", "ls", "--filter", f"name=^polytope-{PROJECT}$", "--format", "{{.Name}}"),
        "volume": docker("volume", "ls", "--filter", f"name=^{re.escape(VOLUME)}$", "--format", "{{.Name}}"),
    }


def clean() -> None:
    ids = docker("ps", "-aq", "--filter", f"label=polytope.project={PROJECT}").split()
    if ids:
        docker("rm", "-f", *ids)
    docker("network", "rm", f"polytope-{PROJECT}")
    docker("volume", "rm", "-f", VOLUME)
    docker("image", "rm", "-f", *IMAGES)


def main() -> None:
    work = tempfile.mkdtemp(prefix="stdlib-e2e.")
    clean()
    try:
        prepare(work)
        check_plan(work)

        run_playbook(work, "up")
        body = http_get("http://127.0.0.1:18080/")
        assert body == "hello from polytope/python from /app\n", body
        log("polytope/python: code at /app, requirements installed, HTTP served: OK")
        state = pg_state()
        assert state["db"] == "CREATE TABLE greeting (text varchar);\nINSERT INTO greeting VALUES ('hello');\n", state
        assert (state["inits"], state["starts"], state["password_set"]) == (1, 1, True), state
        assert docker("volume", "ls", "-q", "--filter", f"name=^{re.escape(VOLUME)}$") == VOLUME
        log(f"polytope/postgres: scripts ran in order on the empty data volume {VOLUME}: OK")
        for image in IMAGES:
            assert docker("image", "inspect", "--format", "{{.Id}}", image), f"{image} was not built"
        log("build-image: both images built and run by the later steps: OK")

        before = container_ids()
        recap = run_playbook(work, "up")
        assert recap["changed"] == 0, recap
        assert container_ids() == before, "the second run replaced containers"
        log("second run: nothing changed: OK")

        run_playbook(work, "down")
        left = leftovers()
        assert left == {"containers": "", "network": "", "volume": VOLUME}, left
        log("polytope.core.down: containers and network removed, the project-scoped data volume kept: OK")

        run_playbook(work, "up")
        assert container_ids() != before, "up after down reused containers"
        state = pg_state()
        assert (state["inits"], state["starts"]) == (1, 2), state
        assert state["db"].startswith("CREATE TABLE greeting"), state
        log("polytope/postgres: the re-created container reused the data volume without re-running scripts: OK")
        body = http_get("http://127.0.0.1:18080/")
        assert body == "hello from polytope/python from /app\n", body

        run_playbook(work, "down")
        assert leftovers()["containers"] == ""
    finally:
        clean()
        shutil.rmtree(work, ignore_errors=True)
    log("all checks passed")


if __name__ == "__main__":
    main()
