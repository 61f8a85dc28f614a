import os
import shutil
import socket
import tempfile
import time
import uuid
from pathlib import Path

import pytest

from nanoseek.data.sandbox import namespaces_available, run_python


def test_print_is_ok_with_exact_stdout():
    result = run_python("print('hola', 6 * 7)\nprint('你好')")
    assert (result.status, result.stdout, result.returncode) == ("ok", "hola 42\n你好\n", 0)


def test_infinite_loop_times_out():
    result = run_python("while True:\n    pass", timeout_s=0.5)
    assert result.status == "timeout" and result.returncode is None


def test_memory_bomb_hits_the_memory_limit():
    assert run_python("x = bytearray(10**10)").status == "memory"
    assert run_python("x = [0] * 10**9").status == "memory"


def test_fork_and_subprocess_are_forbidden():
    assert run_python("import os\nos.fork()").status == "forbidden"
    assert run_python("import os\nwhile True:\n    os.fork()").status == "forbidden"
    assert run_python("import subprocess\nsubprocess.run(['true'])").status == "forbidden"
    assert run_python("import os\nos.system('true')").status == "forbidden"


def test_socket_is_forbidden_even_if_caught():
    code = ("import socket\ntry:\n    socket.create_connection(('127.0.0.1', 9))\n"
            "except BaseException:\n    pass\nprint('out')")
    result = run_python(code)
    assert result.status == "forbidden" and result.stdout == ""


def test_writing_outside_its_directory_is_forbidden():
    name = f"nanoseek-test-{uuid.uuid4().hex}"
    for target in (f"/tmp/{name}", f"../{name}"):
        result = run_python(f"open({target!r}, 'w').write('x')")
        assert result.status == "forbidden"
    assert not os.path.exists(f"/tmp/{name}")
    result = run_python(f"import os\nos.open('/tmp/{name}', os.O_WRONLY | os.O_CREAT)")
    assert result.status == "forbidden" and not os.path.exists(f"/tmp/{name}")


def test_writing_inside_its_directory_is_fine_and_removed():
    result = run_python("import os\nopen('a.txt', 'w').write('x')\nprint(os.getcwd())")
    assert result.status == "ok"
    assert not os.path.exists(result.stdout.strip())


def test_errors_and_output_floods_are_errors():
    result = run_python("1 / 0")
    assert result.status == "error" and "ZeroDivisionError" in result.stderr
    result = run_python("while True:\n    print('x' * 1000)", max_output_bytes=10_000)
    assert result.status == "error" and len(result.stdout) <= 10_000


# ---- the boundary: each escape found with the audit hook alone, now met by the OS ---------------

boundary = pytest.mark.skipif(not namespaces_available(), reason="no Linux user namespaces here")
# What a snippet does first to get past the audit hook: rewrite the lists it reads.
DISARM = ("import sys\nm = sys.modules['__main__']\nm.BLOCKED = ('nothing.',)\nm.BLOCKED_MODULES = set()\n"
          "m.PATH_EVENTS = set()\nm.inside = lambda path: True\n")


@pytest.fixture
def open_directory():
    """A directory anyone may write to, so only the read-only mount can stop a write there."""
    path = Path(tempfile.mkdtemp(prefix="nanoseek-outside-"))
    path.chmod(0o777)
    yield path
    shutil.rmtree(path)


@boundary
def test_writes_outside_fail_even_through_a_directory_descriptor_or_a_disarmed_hook(open_directory):
    target = open_directory / "escaped"
    attempts = [
        f"import os\nfd = os.open({str(open_directory)!r}, os.O_RDONLY)\n"
        f"os.write(os.open('escaped', os.O_WRONLY | os.O_CREAT, dir_fd=fd), b'x')",
        f"import os\nos.mkfifo({str(target)!r})",
        f"import os, stat\nos.mknod({str(target)!r}, stat.S_IFREG | 0o600)",
        DISARM + f"open({str(target)!r}, 'w').write('x')",
    ]
    for code in attempts:
        result = run_python(code)
        assert result.status == "error" and "Read-only file system" in result.stderr, (code, result)
        assert not target.exists()


@boundary
def test_a_disarmed_hook_still_gets_no_process_no_network_and_no_remount():
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        server.settimeout(0.2)
        port = server.getsockname()[1]
        result = run_python(DISARM + f"import socket\nsocket.create_connection(('127.0.0.1', {port}), timeout=1)")
        assert result.status == "error" and "OSError" in result.stderr, result
        with pytest.raises(TimeoutError):
            server.accept()  # nothing reached the host
    fork = run_python(DISARM + "import os\nos.fork()")
    assert fork.status == "error" and "BlockingIOError" in fork.stderr, fork  # RLIMIT_NPROC binds: not root
    system = run_python(DISARM + "import os\nprint(os.system('true'))")
    assert system.status == "ok" and int(system.stdout) != 0, system  # no shell could be started
    remount = run_python(DISARM + "import ctypes\nlibc = ctypes.CDLL(None, use_errno=True)\n"
                                  "print(libc.mount(b'none', b'/', None, 32 | 4096, None), ctypes.get_errno())")
    assert remount.stdout == "-1 1\n", remount  # MS_REMOUNT | MS_BIND back to writable: EPERM


@boundary
def test_nothing_outlives_the_snippet_and_the_parent_is_invisible(monkeypatch):
    monkeypatch.setenv("NANOSEEK_TEST_SECRET", "s3cret")
    code = DISARM + ("import os\nprint(sorted(p for p in os.listdir('/proc') if p.isdigit()))\n"
                     "print(os.getppid())\n"
                     "print(b''.join(open(f'/proc/{p}/environ', 'rb').read() for p in os.listdir('/proc') if p.isdigit()))")
    result = run_python(code)
    assert result.status == "ok", result
    assert result.stdout.splitlines()[:2] == ["['1']", "0"]  # alone in its PID namespace, as its init
    assert "s3cret" not in result.stdout and "LANG=C.UTF-8" in result.stdout
    sleeper = DISARM + "import os, time\nos.setsid()\nwhile True:\n    time.sleep(1)"  # asleep: no CPU limit ends it
    assert run_python(sleeper, timeout_s=0.5).status == "timeout"
    if os.geteuid() == 0:  # it ran as nobody, left our process group, and still dies with the kill
        deadline = time.monotonic() + 5
        while [p for p in os.listdir("/proc") if p.isdigit() and _uid(p) == 65534]:
            assert time.monotonic() < deadline, "a sandboxed process outlived the kill"
            time.sleep(0.05)


def _uid(pid: str) -> int | None:
    """The real uid of a process, None if it ended while we looked."""
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("Uid:"))
    except OSError:
        return None


def test_without_namespaces_it_still_runs_and_says_so_once(monkeypatch):
    import warnings

    import nanoseek.data.sandbox as sandbox

    monkeypatch.setattr(sandbox, "namespaces_available", lambda: False)
    sandbox._warn_not_isolated.cache_clear()
    with pytest.warns(RuntimeWarning, match="no Linux user namespaces"):
        assert run_python("print(1)").stdout == "1\n"
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_python("import os\nos.fork()").status == "forbidden"  # the hook still stands
