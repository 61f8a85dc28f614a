"""Run short untrusted Python snippets with limits: a fresh `python -I` subprocess in its own
process group and its own temporary directory (removed afterwards), kernel resource limits
(address space, CPU seconds, file size, processes, open files), a wall-clock timeout that
kills the whole group, and an audit hook installed before the snippet runs that ends the
process on network use, process creation, native code (ctypes) and writes outside its
directory. Output is written to capped files, so a print flood cannot fill our memory.

This is containment for generated task code, not a security boundary against a
determined attacker (audit hooks can be bypassed from native code, which we block, and
RLIMIT_NPROC does not bind root): run untrusted model output in a container as well."""

import os
import resource
import signal
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

FORBIDDEN_EXIT = 86  # the audit hook's exit status; reported as status "forbidden"

# Runs in the child before the snippet. Stops at the first forbidden event: os._exit, not
# an exception, so the snippet cannot catch it and carry on.
PRELUDE = """
import os, sys
ROOT = os.path.realpath(os.getcwd())
BLOCKED = ("socket.", "subprocess.", "os.fork", "os.forkpty", "os.system", "os.exec", "os.posix_spawn",
           "os.spawn", "os.kill", "os.killpg", "ctypes.", "pty.", "_posixsubprocess")
BLOCKED_MODULES = {"ctypes", "_ctypes", "_posixsubprocess", "multiprocessing"}
PATH_EVENTS = {"os.remove", "os.rename", "os.rmdir", "os.mkdir", "os.chmod", "os.chown", "os.symlink",
               "os.link", "os.truncate", "os.utime", "shutil.rmtree", "shutil.move", "shutil.copyfile"}
WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_APPEND | os.O_TRUNC

def inside(path):
    if isinstance(path, int):  # an already-open descriptor
        return True
    path = os.fsdecode(os.fspath(path))
    return os.path.realpath(path) == ROOT or os.path.realpath(path).startswith(ROOT + os.sep)

def writes(mode, flags):
    return any(c in str(mode or "") for c in "wax+") or bool((flags or 0) & WRITE_FLAGS)

def hook(event, args):
    bad = (event.startswith(BLOCKED)
           or (event == "import" and args[0] in BLOCKED_MODULES)
           or (event == "open" and writes(args[1], args[2]) and not inside(args[0]))
           or (event in PATH_EVENTS and not all(inside(a) for a in args if isinstance(a, (str, bytes, os.PathLike)))))
    if bad:
        what = args[0] if args and isinstance(args[0], str) else ""
        os.write(2, f"forbidden: {event} {what}\\n".encode())
        os._exit(%d)

sys.addaudithook(hook)
with open("main.py") as f:
    source = f.read()
exec(compile(source, "main.py", "exec"), {"__name__": "__main__"})
""" % FORBIDDEN_EXIT


@dataclass(frozen=True)
class SandboxResult:
    status: str  # "ok" | "timeout" | "memory" | "error" | "forbidden"
    stdout: str
    stderr: str
    returncode: int | None  # None when we killed it on the wall clock


def limits(timeout_s: float, memory_mb: int, max_output_bytes: int) -> None:
    """Runs in the child between fork and exec."""
    mb = 1024 * 1024
    resource.setrlimit(resource.RLIMIT_AS, (memory_mb * mb, memory_mb * mb))
    cpu = int(timeout_s) + 1  # a backstop; the wall clock normally fires first
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu))
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_output_bytes, max_output_bytes))
    resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def classify(returncode: int | None, stderr: str) -> str:
    if returncode is None or returncode == -signal.SIGXCPU:
        return "timeout"
    if returncode == FORBIDDEN_EXIT and "forbidden:" in stderr:
        return "forbidden"
    if returncode != 0 and "MemoryError" in stderr:
        return "memory"
    return "ok" if returncode == 0 else "error"


def read_back(f, limit: int) -> str:
    f.seek(0)
    return f.read(limit).decode("utf-8", "replace")


def run_python(code: str, *, timeout_s: float = 2.0, memory_mb: int = 256,
               max_output_bytes: int = 64_000) -> SandboxResult:
    """Run `code` as a fresh Python program and report how it ended.

    stdout/stderr are decoded as UTF-8 and capped at max_output_bytes each (writing more
    fails inside the child, which then ends with status "error")."""
    with tempfile.TemporaryDirectory(prefix="nanoseek-sandbox-") as tmp:
        root = Path(tmp)
        (root / "main.py").write_text(code, encoding="utf-8")
        with open(root / ".stdout", "w+b") as out, open(root / ".stderr", "w+b") as err:
            proc = subprocess.Popen(
                [sys.executable, "-I", "-S", "-X", "utf8", "-c", PRELUDE], cwd=tmp,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env={"LANG": "C.UTF-8"},
                start_new_session=True,  # its own process group, so one killpg ends it all
                preexec_fn=lambda: limits(timeout_s, memory_mb, max_output_bytes))
            try:
                returncode = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                returncode = None
            stdout, stderr = (read_back(f, max_output_bytes) for f in (out, err))
    return SandboxResult(classify(returncode, stderr), stdout, stderr, returncode)
