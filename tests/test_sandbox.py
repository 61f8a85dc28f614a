import os
import uuid

from nanoseek.data.sandbox import run_python


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
