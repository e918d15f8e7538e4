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


def test_folder_skips_unrecognised_files_but_named_file_fails(tmp_path, capsys):
    import shutil
    from pathlib import Path

    src = (
        Path(__file__).resolve().parents[1]
        / "data"
        / "samples"
        / "demo"
        / "entra"
        / "signins.json.gz"
    )
    (tmp_path / "logs").mkdir()
    shutil.copy(src, tmp_path / "logs" / "signins.json.gz")
    (tmp_path / "logs" / "capture.dat").write_text("collected by the SOC on Monday\n")
    assert main(["read", str(tmp_path / "logs")]) == 0
    cap = capsys.readouterr()
    assert "skipped file" in cap.err and "capture.dat" in cap.err
    assert "total:" in cap.out and " 0 skipped" in cap.out
    rc = main(["read", str(tmp_path / "logs" / "capture.dat")])
    err = capsys.readouterr().err
    assert rc == 2 and "unrecognised content" in err and err.count("\n") == 1
