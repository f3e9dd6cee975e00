import subprocess
import sys
import types

import pytest

from helpers import torch_compat


def _run(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)


def test_guarded_import_works_in_a_fresh_interpreter():
    """Where the plain import fails with the known error, the guarded one patches and works."""
    plain = _run("import torchvision")
    known_failure = "operator torchvision::nms does not exist" in plain.stderr
    assert plain.returncode == (1 if known_failure else 0), plain.stderr
    guarded = _run(
        "import torch\n"
        "from helpers.torch_compat import import_torchvision, schemas_patched\n"
        "tv = import_torchvision()\n"
        "model = tv.models.resnet18(weights=None).eval()\n"
        "print(model(torch.zeros(1, 3, 32, 32)).shape[-1], schemas_patched())\n"
    )
    assert guarded.returncode == 0, guarded.stderr
    assert guarded.stdout.split() == ["1000", str(known_failure)]


def test_noop_when_torchvision_imports(monkeypatch):
    fake = types.ModuleType("torchvision")
    monkeypatch.setitem(sys.modules, "torchvision", fake)
    monkeypatch.setattr(torch_compat, "_library", None)
    assert torch_compat.import_torchvision() is fake
    assert not torch_compat.schemas_patched()


def test_other_runtime_errors_are_raised(monkeypatch):
    def broken(name):
        raise RuntimeError("something else entirely")

    monkeypatch.setattr(torch_compat.importlib, "import_module", broken)
    with pytest.raises(RuntimeError, match="something else"):
        torch_compat.import_torchvision()


def test_known_error_path_forgets_partial_import_then_retries(monkeypatch):
    fake = types.ModuleType("torchvision")
    calls = []

    def first_fails(name):
        calls.append(name)
        if len(calls) == 1:
            raise RuntimeError("operator torchvision::nms does not exist")
        return fake

    for name in [m for m in sys.modules if m.startswith("torchvision")]:
        monkeypatch.setitem(sys.modules, name, sys.modules[name])  # restored after the test
    monkeypatch.setitem(sys.modules, "torchvision.half_imported", types.ModuleType("x"))
    monkeypatch.setattr(torch_compat.importlib, "import_module", first_fails)
    monkeypatch.setattr(torch_compat, "_define_missing_schemas", lambda: calls.append("define"))
    assert torch_compat.import_torchvision() is fake
    assert calls == ["torchvision", "define", "torchvision"]
    assert "torchvision.half_imported" not in sys.modules
