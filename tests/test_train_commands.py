"""`nodeswap train` and `nodeswap export` from the core: no torch at import, a clear error without it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from nodeswap import cli, train_commands

ROOT = Path(__file__).resolve().parent.parent


def test_the_core_cli_does_not_import_torch() -> None:
    code = "import sys, nodeswap.cli; nodeswap.cli._parser().parse_args(['train', 'm', '--src', 'a', '--dst', 'b'])\n"
    code += "print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True)
    assert out.stdout.strip() == "False", out.stderr


def test_without_the_train_extra_the_error_says_how_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    def missing(name: str) -> None:
        raise ModuleNotFoundError("No module named 'torch'", name="torch")

    monkeypatch.setattr(train_commands.importlib, "import_module", missing)
    assert cli.main(["train", str(tmp_path / "m"), "--src", "a", "--dst", "b"]) == 2
    err = capsys.readouterr().err
    assert 'pip install -e ".[train]"' in err and "Traceback" not in err
    assert cli.main(["export", str(tmp_path / "m"), str(tmp_path / "x.dfm")]) == 2
    assert "PyTorch" in capsys.readouterr().err


@pytest.mark.parametrize(
    "args", [["train", "m", "--src", "a"], ["train", "m", "--src", "a", "--dst", "b", "--iters", "0"]]
)
def test_bad_arguments_exit_2(args: list[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        cli.main(args)
    assert exc.value.code == 2
