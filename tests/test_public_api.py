import importlib
import pkgutil

import attrib


def test_all_names_resolve():
    for name in attrib.__all__:
        assert getattr(attrib, name) is not None, name


def test_every_public_module_declares_all():
    missing = []
    for mod in pkgutil.walk_packages(attrib.__path__, "attrib."):
        if any(part.startswith("_") for part in mod.name.split(".")):
            continue
        if mod.name.startswith("attrib.api") or mod.name.endswith("__main__"):
            # the api extra may be absent; its modules are covered by tests/api
            continue
        m = importlib.import_module(mod.name)
        if not hasattr(m, "__all__"):
            missing.append(mod.name)
    assert not missing, f"modules without __all__: {missing}"


def test_unknown_attribute():
    import pytest

    with pytest.raises(AttributeError):
        attrib.no_such_thing  # noqa: B018
