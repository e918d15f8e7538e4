import subprocess
import sys

from attrib.cli import main


def test_help_lists_commands(capsys):
    assert main(["--help"]) == 0
    out = capsys.readouterr().out
    assert "read" in out


def test_missing_input_one_line_error(capsys, tmp_path):
    rc = main(["read", str(tmp_path / "missing.log")])
    err = capsys.readouterr().err
    assert rc != 0
    assert err.count("\n") == 1 and "missing.log" in err and "Traceback" not in err


def test_console_script_exit_code(tmp_path):
    p = subprocess.run(
        [sys.executable, "-m", "attrib", "read", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert p.returncode == 2
    assert p.stderr.startswith("attrib: error:") and "Traceback" not in p.stderr
