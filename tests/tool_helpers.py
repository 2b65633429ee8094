"""Loading the scripts of ``tools/`` (not a package) as modules."""
import importlib.util
import os.path as osp
import sys

REPO = osp.dirname(osp.dirname(osp.abspath(__file__)))


def load_tool(relpath: str):
    """The script ``tools/<relpath>`` as a module named after its file.

    The script's folder goes on ``sys.path`` (a tool imports the helper
    modules beside it, as when it runs as a script) and the module into
    ``sys.modules`` (worker processes unpickle its functions by name).
    """
    path = osp.join(REPO, 'tools', relpath)
    name = osp.splitext(osp.basename(path))[0]
    folder = osp.dirname(path)
    if folder not in sys.path:
        sys.path.insert(0, folder)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def keep_figures(monkeypatch, builder: str) -> list:
    """The figures ``mmaction_avslowfast.visualization.<builder>`` returns
    while a tool runs in-process (the builder is wrapped for the test)."""
    from mmaction_avslowfast import visualization
    figures = []
    build = getattr(visualization, builder)

    def keep(*args, **kwargs):
        figures.append(build(*args, **kwargs))
        return figures[-1]

    monkeypatch.setattr(visualization, builder, keep)
    return figures
