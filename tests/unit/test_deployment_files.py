"""The Dockerfile and docker-compose.yml, checked by parsing (no Docker engine on the test machines).

They must name only files that exist, start the processes through ./run's own commands, consume exactly the
queues the task routes send work to, and run as a non-root user from one built image. PyYAML comes with
drf-spectacular (a pinned dependency).
"""
import re
import shlex
import tomllib
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
RUN = (REPO / "run").read_text()
APP_IMAGE_SERVICES = {"migrate", "web", "worker", "worker-ocr", "beat", "relay"}
COMING = {"relay": "./run relay is not there yet (the outbox relay lands with the architecture issue, #18)"}


def dockerfile() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) pairs: comments dropped, continuation lines joined."""
    lines, current = [], ""
    for raw in (REPO / "Dockerfile").read_text().splitlines():
        if raw.lstrip().startswith("#") or not raw.strip():
            continue
        current += raw.rstrip()
        if current.endswith("\\"):
            current = current[:-1] + " "
            continue
        lines.append(current.strip())
        current = ""
    return [(line.split(None, 1)[0].upper(), line.split(None, 1)[1] if " " in line else "") for line in lines]


def stages() -> dict[str, list[tuple[str, str]]]:
    out, name = {}, None
    for instruction, args in dockerfile():
        if instruction == "FROM":
            words = args.split()
            name = words[2] if len(words) >= 3 and words[1].upper() == "AS" else f"stage{len(out)}"
            out[name] = []
        elif name is not None:
            out[name].append((instruction, args))
    return out


def compose() -> dict:
    return yaml.safe_load((REPO / "docker-compose.yml").read_text())


def run_commands() -> set[str]:
    """The commands ./run's case statement accepts."""
    body = RUN.split('case "$cmd" in', 1)[1]
    return {label for line in body.splitlines() for label in re.findall(r"^\s*([a-z][a-z|-]*)\)", line)
            for label in label.split("|")}


def pins() -> dict[str, str]:
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return dict(re.match(r"([A-Za-z0-9_.\[\]-]+)==(\S+)", d).groups() for d in deps)


def test_dockerfile_is_multi_stage_and_runs_as_a_non_root_user():
    st = stages()
    assert len(st) >= 2 and "build" in st, list(st)
    final = list(st.values())[-1]
    users = [args for instruction, args in final if instruction == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}, users
    copies_from = [args for instruction, args in final if instruction == "COPY" and "--from=" in args]
    assert copies_from and all(re.search(r"--from=(\S+)", a).group(1) in st for a in copies_from)
    cmd = [args for instruction, args in final if instruction == "CMD"][-1]
    words = yaml.safe_load(cmd)  # exec form: a JSON list
    assert words[0] == "./run" and words[1] in run_commands(), words


def test_dockerfile_copies_only_what_exists_and_dockerignore_keeps_it_in():
    ignored = [line.strip().rstrip("/") for line in (REPO / ".dockerignore").read_text().splitlines()
               if line.strip() and not line.startswith("#")]
    assert {".git", ".venv", "var"} <= set(ignored)
    sources = []
    for _, steps in stages().items():
        for instruction, args in steps:
            if instruction == "COPY" and "--from=" not in args:
                sources += [w for w in shlex.split(args)[:-1] if not w.startswith("--")]
    assert sources
    for source in sources:
        assert (REPO / source).exists(), f"COPY {source}: no such path in the repository"
        assert source not in ignored, f"COPY {source}: .dockerignore leaves it out of the build context"


def test_dockerfile_installs_cpu_torch_at_pyproject_pins_and_prepares_run():
    text = " ".join(args for _, args in dockerfile())
    for package in ("torch", "torchvision"):
        found = re.search(rf"\b{package}==(\S+)\+cpu\b", text)
        assert found and found.group(1) == pins()[package], f"{package}: Dockerfile and pyproject.toml disagree"
    assert "download.pytorch.org/whl/cpu" in text
    assert "collectstatic --noinput" in text
    # ./run's set-up skips pip when this stamp exists and apt-get when its packages are installed (as non-root)
    stamp = re.search(r"\.installed-\$\(sha1sum pyproject\.toml \| cut -c1-12\)", RUN)
    assert stamp and stamp.group() in text
    setup = re.search(r"^setup\(\) \{.*?^\}", RUN, re.S | re.M).group()
    apt_packages = setup.split("apt_install", 1)[1].split("\n")[0].split() if "apt_install" in setup else []
    for package in apt_packages:  # whatever ./run's set-up installs with apt, the image has too
        assert re.search(rf"apt-get install [^&]*\b{re.escape(package)}\b", text), f"{package} (./run setup) not installed"


@pytest.mark.parametrize("name", sorted(APP_IMAGE_SERVICES))
def test_compose_service_runs_a_run_command_from_the_one_image(name):
    services = compose()["services"]
    assert name in services, f"docker-compose.yml has no '{name}' service"
    service = services[name]
    assert service["image"] == services["web"]["image"], "every process runs the same image"
    command = service["command"]
    command = shlex.split(command) if isinstance(command, str) else command
    assert command[0] == "./run", command
    if command[1] in COMING and command[1] not in run_commands():
        pytest.skip(COMING[command[1]])
    assert command[1] in run_commands(), f"./run has no '{command[1]}' command"


def test_compose_builds_the_image_once():
    services = compose()["services"]
    built = [name for name, s in services.items() if "build" in s]
    assert built == ["migrate"], built
    context = services["migrate"]["build"]
    assert (REPO / (context if isinstance(context, str) else context["context"]) / "Dockerfile").exists()
    assert services["migrate"]["pull_policy"] == "build"
    assert all(services[n].get("pull_policy") == "never" for n in APP_IMAGE_SERVICES - {"migrate"})


def test_compose_workers_consume_exactly_the_routed_queues():
    from django.conf import settings

    services = compose()["services"]
    consumed = {}
    for name, service in services.items():
        if service.get("command", [None, None])[1] == "worker":
            for queue in service["environment"]["WORKER_QUEUES"].split(","):
                consumed.setdefault(queue, []).append(name)
    default = set(re.search(r"\$\{WORKER_QUEUES:-([a-z,]+)\}", RUN).group(1).split(","))
    routed = {route["queue"] for route in settings.CELERY_TASK_ROUTES.values()}
    assert set(consumed) == default == routed, (consumed, default, routed)
    assert consumed["ocr"] == ["worker-ocr"], "OCR follow-ups have their own worker"
    assert all(len(names) == 1 for names in consumed.values()), consumed


def test_compose_health_checks_and_dependencies():
    doc = compose()
    services = doc["services"]
    for name in ("postgres", "redis", "web", "worker", "worker-ocr", "beat"):
        assert services[name].get("healthcheck", {}).get("test"), f"{name} has no health check"
    for name, service in services.items():
        for dependency, rule in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            if rule["condition"] == "service_healthy":
                assert "healthcheck" in services[dependency], f"{name} waits for {dependency}'s missing health check"
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            assert source.startswith((".", "/")) or source in doc["volumes"], f"{name}: undeclared volume {source}"
        assert "/app" not in [v.split(":")[1] for v in service.get("volumes", [])], "no source bind-mount"
    assert (REPO / "anticounterfeit" / "celery.py").exists()  # the workers' health checks ping -A anticounterfeit


def test_compose_sets_only_variables_the_project_reads():
    """A misspelt variable would be ignored silently: each must be read by settings.py or by ./run."""
    settings_source = (REPO / "anticounterfeit" / "settings.py").read_text()
    for name, service in compose()["services"].items():
        if service.get("image") != compose()["services"]["web"]["image"]:
            continue
        for variable in service.get("environment", {}):
            assert f'"{variable}"' in settings_source or f"${{{variable}" in RUN, f"{name}: {variable} is read nowhere"
