"""Cold `qabot ask` against the import of sentence-transformers, measured alternately in one run.

    HF_HUB_OFFLINE=1 .venv/bin/python -m benchmarks.cold_ask [--rounds 7] [--index index]

Each round runs one fresh `qabot ask "..."` process (the console entry point pyproject.toml declares, as
the installed script runs it), the same CLI call through `main()`, which tears the interpreter down at
exit as before `run()` existed, and one fresh `python -c "import sentence_transformers"`, so all see the
same machine state (page cache, CPU frequency, other load). The figure that matters is the ratio
of the medians; CPU seconds are shown too, as they move less with other load. Then it runs the ask path
once more in a child process and lists the heavy packages that ended up in sys.modules, with the import
chain that pulled each in.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

QUESTION = "How many Russian troops are stationed in Armenia?"
HEAVY = ("torch", "sentence_transformers", "transformers", "scipy", "sklearn", "pandas")
TARGET_SECONDS = 1.0
TARGET_RATIO = 0.1

# Runs the CLI in-process (exactly the code path of `qabot ask`), then reports which heavy modules loaded.
PROBE = """
import json, os, sys
from qabot.cli import main
try:
    main(sys.argv[1:], standalone_mode=False)
finally:
    heavy = sorted({m.split(".")[0] for m in sys.modules} & set(json.loads(os.environ["HEAVY"])))
    sys.stderr.write("HEAVY=" + json.dumps(heavy) + "\\n")
"""


KEEP_ENV = {"bytecode": False}


# The CLI without its console entry's fast exit: click's main(), then the interpreter's teardown (freeing
# every module: pydantic's alone takes ~60 ms).
THROUGH_MAIN = "import sys; from qabot.cli import main; sys.argv[0] = 'qabot'; main()"


def child_env() -> dict[str, str]:
    """The children's environment: offline, and caching bytecode as an installed qabot does.

    With PYTHONDONTWRITEBYTECODE set (as in some sandboxes), an editable install recompiles qabot's own
    modules on every start (~70 ms); a pip-installed qabot ships .pyc files and never does. --no-bytecode
    keeps the variable for a measurement of that setup.
    """
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    if not KEEP_ENV["bytecode"]:
        env.pop("PYTHONDONTWRITEBYTECODE", None)
    return env


def qabot_command() -> list[str]:
    """What the installed `qabot` script runs: the entry point pyproject.toml declares.

    Read from this checkout rather than taken from the venv's bin/, whose script was written by whichever
    checkout was installed into it last.
    """
    import tomllib

    with open(Path(__file__).resolve().parents[1] / "pyproject.toml", "rb") as handle:
        module, func = tomllib.load(handle)["project"]["scripts"]["qabot"].split(":")
    return [
        sys.executable,
        "-c",
        f"import sys; from {module} import {func}; sys.argv[0] = 'qabot'; sys.exit({func}())",
    ]


def timed(command: list[str]) -> tuple[float, float]:
    """Wall-clock and CPU seconds (user + system) of one run of `command`.

    CPU time is what the run costs whatever else the machine is doing; wall time is what a user waits.
    """
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    began = time.perf_counter()
    subprocess.run(command, check=True, env=child_env(), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    wall = time.perf_counter() - began
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def ask_args(question: str, index: Path | None, corpus: Path | None) -> list[str]:
    args = ["ask", question]
    if index is not None:
        args += ["--index", str(index)]
    if corpus is not None:
        args += ["--corpus", str(corpus)]
    return args


def heavy_imports(args: list[str]) -> tuple[list[str], dict[str, list[str]]]:
    """Heavy top-level packages imported on the ask path, and for each the chain of imports behind it."""
    command = [sys.executable, "-X", "importtime", "-c", PROBE, *args]
    env = {**child_env(), "HEAVY": json.dumps(HEAVY)}
    result = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    found = [line for line in result.stderr.splitlines() if line.startswith("HEAVY=")]
    # a probe that died (say, on a renamed import) must not read as "no heavy package imported"
    if result.returncode or not found:
        tail = "\n".join(line for line in result.stderr.splitlines() if not line.startswith("import time:"))
        raise SystemExit(f"the ask probe failed (exit {result.returncode}):\n{tail[-2000:]}")
    heavy: list[str] = json.loads(found[-1][len("HEAVY=") :])
    chains = {name: import_chain(result.stderr, name) for name in heavy}
    return heavy, chains


def import_chain(importtime: str, package: str) -> list[str]:
    """Outermost to innermost: the imports that led to the first import of `package`.

    `-X importtime` prints a module after the modules it imported, indented two spaces per level, so a
    module's importer is the next line printed one level shallower.
    """
    rows = []
    for line in importtime.splitlines():
        if not line.startswith("import time:") or "|" not in line:
            continue
        name = line.rsplit("|", 1)[1]
        stripped = name.lstrip(" ")
        if stripped.startswith("imported package"):
            continue
        rows.append(((len(name) - len(stripped) - 1) // 2, stripped.strip()))
    for i, (depth, name) in enumerate(rows):
        if name == package or name.startswith(package + "."):
            chain, want = [name], depth - 1
            for later_depth, later in rows[i + 1 :]:
                if want < 0:
                    break
                if later_depth == want:
                    chain.append(later)
                    want -= 1
            return chain[::-1]
    return []


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--rounds", type=int, default=7, help="alternating rounds (default 7)")
    parser.add_argument("--question", default=QUESTION)
    parser.add_argument("--index", type=Path, default=None, help="index folder (default: settings)")
    parser.add_argument("--corpus", type=Path, default=None, help="corpus folder (default: settings)")
    parser.add_argument(
        "--no-bytecode", action="store_true", help="keep PYTHONDONTWRITEBYTECODE for the children if set"
    )
    parser.add_argument(
        "--no-warm-up", action="store_true", help="skip the unmeasured first run of each command"
    )
    args = parser.parse_args(argv)
    KEEP_ENV["bytecode"] = args.no_bytecode

    commands = {
        "qabot ask (cold process)": [*qabot_command(), *ask_args(args.question, args.index, args.corpus)],
        "  the same through main() (teardown at exit)": [
            sys.executable,
            "-c",
            THROUGH_MAIN,
            *ask_args(args.question, args.index, args.corpus),
        ],
        "python -c 'import sentence_transformers'": [sys.executable, "-c", "import sentence_transformers"],
    }
    baseline = "python -c 'import sentence_transformers'"
    for command in commands.values():
        if not args.no_warm_up:
            timed(command)  # warm the page cache before measuring
    runs: dict[str, list[tuple[float, float]]] = {name: [] for name in commands}
    for _ in range(args.rounds):
        for name, command in commands.items():
            runs[name].append(timed(command))
    wall = {k: statistics.median(w for w, _ in v) for k, v in runs.items()}
    cpu = {k: statistics.median(c for _, c in v) for k, v in runs.items()}
    load = os.getloadavg()[0]

    bytecode = "no bytecode cache" if child_env().get("PYTHONDONTWRITEBYTECODE") else "bytecode cached"
    print(
        f"cold runs, {args.rounds} alternating rounds each; medians in seconds "
        f"(load average {load:.1f}, {bytecode}); x import = wall / import's wall"
    )
    print(f"{'command':<42} {'wall':>7} {'min':>7} {'max':>7} {'CPU':>7} {'x import':>9}")
    for name in commands:
        walls = [w for w, _ in runs[name]]
        print(
            f"{name:<42} {wall[name]:7.3f} {min(walls):7.3f} {max(walls):7.3f} {cpu[name]:7.3f} "
            f"{wall[name] / wall[baseline]:9.3f}"
        )
    ask = "qabot ask (cold process)"
    ratio = wall[ask] / wall[baseline]
    ok = wall[ask] < TARGET_SECONDS and ratio <= TARGET_RATIO
    verdict = "met" if ok else "NOT met"
    print(f"targets for qabot ask (median < {TARGET_SECONDS} s, <= {TARGET_RATIO} x import): {verdict}")

    heavy, chains = heavy_imports(ask_args(args.question, args.index, args.corpus))
    print(f"heavy packages imported on the ask path: {', '.join(heavy) if heavy else 'none'}")
    for name, chain in chains.items():
        print(f"  {name}: {' <- '.join(reversed(chain))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
