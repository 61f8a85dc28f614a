"""Run short untrusted Python snippets (model-written code in rewards, generated task code)
behind an operating-system boundary, with an audit hook as a second layer.

The boundary (on Linux, built with util-linux's `unshare` and `setpriv`): the snippet runs
without capabilities and not as root (as `nobody` when we are root, else as the root of a user
namespace mapped to our own user), so it cannot remount anything and RLIMIT_NPROC, which
exempts root, stops it from starting any process. It has its own mount namespace where every
file system is read-only except its temporary directory, its own network namespace (no
interface is up: no network), its own PID namespace (it sees only its own processes, it is
PID 1, and everything in it dies with it: nothing outlives the kill), its own IPC and UTS
namespaces, and an empty environment. Address space, CPU seconds, file size and open files are
capped, and a wall-clock timeout kills the whole group.

The second layer is an audit hook installed before the snippet runs that ends the process on
network use, process creation, native code (ctypes) and writes outside its directory: a
snippet that rewrites the hook's lists still meets the boundary. Where the namespaces cannot
be made (not Linux, user namespaces disabled, the tools missing) only the limits and the hook
apply, which contain mistakes but not an attacker; `namespaces_available()` says which, and
a warning says so once.

Output is written to capped files, so a print flood cannot fill our memory."""

import contextlib
import functools
import os
import resource
import shutil
import signal
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

FORBIDDEN_EXIT = 86  # the audit hook's exit status; reported as status "forbidden"

# Runs in the child before the snippet. Stops at the first forbidden event: os._exit, not
# an exception, so the snippet cannot catch it and carry on.
PRELUDE = """
import os, resource, sys
resource.setrlimit(resource.RLIMIT_NPROC, (0, 0))  # set here: creating the namespaces needs a fork
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


# Root builds the namespaces itself and runs the snippet as `nobody`; anyone else needs a user
# namespace first and runs it as that namespace's root. Either way the snippet's real user is
# not root, which RLIMIT_NPROC exempts, and it holds no capability.
AS_ROOT = os.geteuid() == 0
NOBODY = 65534
NAMESPACES = ["unshare", *([] if AS_ROOT else ["--user", "--map-root-user"]), "--mount", "--net", "--pid",
              "--fork", "--kill-child", "--mount-proc", "--ipc", "--uts"]
DROP_CAPABILITIES = [shutil.which("setpriv") or "/usr/bin/setpriv",
                     *([f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups"] if AS_ROOT else []),
                     "--bounding-set=-all", "--inh-caps=-all", "--no-new-privs", "--"]
INTERPRETER = [sys.executable, "-I", "-S", "-X", "utf8", "-c"]

# Runs first inside the namespaces (as their root): keeps the working directory writable,
# makes every other mount read-only (keeping the flags the kernel locks), then replaces itself
# with the snippet's interpreter, without capabilities or environment. Any failure stops here,
# before the snippet runs.
SETUP = """
import os, subprocess, sys
work = os.getcwd()
subprocess.run(["mount", "--bind", work, work], check=True)
os.chdir(work)  # into the bind mount: the old working directory lies on the mount made read-only below
mounts = {}
for line in open("/proc/self/mounts"):
    point, options = line.split()[1], line.split()[3].split(",")
    mounts[point.encode().decode("unicode_escape")] = [o for o in options if o in ("nosuid", "nodev", "noexec")]
for point, kept in mounts.items():
    if point != work:
        subprocess.run(["mount", "-o", ",".join(["remount", "bind", "ro", *kept]), point], check=True)
argv = %r + %r + [sys.argv[1]]
os.execve(argv[0], argv, {"LANG": "C.UTF-8"})
""" % (DROP_CAPABILITIES, INTERPRETER)


@functools.cache
def namespaces_available() -> bool:
    """Whether this machine can build the boundary (a trial run of the same namespaces)."""
    if not (sys.platform == "linux" and shutil.which("unshare") and shutil.which("setpriv")):
        return False
    probe = subprocess.run([*NAMESPACES, "true"], capture_output=True, timeout=10)
    return probe.returncode == 0


def isolated() -> bool:
    """namespaces_available(), warning once when untrusted code will run without the boundary."""
    if namespaces_available():
        return True
    _warn_not_isolated()
    return False


@functools.cache
def _warn_not_isolated() -> None:
    warnings.warn("no Linux user namespaces (unshare, setpriv): sandboxed code runs with process limits "
                  "and an audit hook only, which do not stop a determined attacker", RuntimeWarning, stacklevel=4)


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
    resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))


def kill_namespace(unshare_pid: int) -> None:
    """SIGKILL the PID namespace's init (unshare's child), which takes every process in the
    namespace with it: a snippet that left our process group (setsid) is not reached by
    killpg, and the new user id it runs under clears the parent-death signal `--kill-child` set."""
    try:
        children = Path(f"/proc/{unshare_pid}/task/{unshare_pid}/children").read_text().split()
    except OSError:  # already gone, or not the namespaced command
        return
    for child in children:
        with contextlib.suppress(ProcessLookupError):
            os.kill(int(child), signal.SIGKILL)


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
        boundary = isolated()
        if boundary and AS_ROOT:
            os.chown(root, NOBODY, NOBODY)  # the one place it may write
        with open(root / ".stdout", "w+b") as out, open(root / ".stderr", "w+b") as err:
            command = [*NAMESPACES, *INTERPRETER, SETUP, PRELUDE] if boundary else [*INTERPRETER, PRELUDE]
            proc = subprocess.Popen(
                command, cwd=tmp,
                stdin=subprocess.DEVNULL, stdout=out, stderr=err, env={"LANG": "C.UTF-8"},
                start_new_session=True,  # its own process group, so one killpg ends it all
                preexec_fn=lambda: limits(timeout_s, memory_mb, max_output_bytes))
            try:
                returncode = proc.wait(timeout=timeout_s)
            except subprocess.TimeoutExpired:
                kill_namespace(proc.pid)
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                returncode = None
            stdout, stderr = (read_back(f, max_output_bytes) for f in (out, err))
    return SandboxResult(classify(returncode, stderr), stdout, stderr, returncode)
