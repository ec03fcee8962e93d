"""The layering of jaxnn's modules, read from the source: which module imports which, at
module level (imports inside functions run later and cannot form a cycle at import time)."""

import ast
import pathlib

import jaxnn

ROOT = pathlib.Path(jaxnn.__file__).parent


def _module_name(path, root):
    parts = list(path.relative_to(root.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top_level_imports(tree):
    """The import statements run when the module loads: at module level, also under ``if``
    and ``try`` (not in functions or classes)."""
    todo = list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, (ast.Import, ast.ImportFrom)):
            yield node
        elif isinstance(node, (ast.If, ast.Try)):
            todo += node.body + node.orelse + getattr(node, "handlers", []) + getattr(node, "finalbody", [])
        elif isinstance(node, ast.ExceptHandler):
            todo += node.body


def import_graph(root=ROOT):
    """``{module: {jaxnn modules it imports at module level}}``; ``from pkg import name``
    counts as importing ``pkg.name`` where that is a module, else ``pkg``."""
    files = {_module_name(p, root): p for p in root.rglob("*.py")}
    graph = {}
    for name, path in files.items():
        package = name if path.name == "__init__.py" else name.rpartition(".")[0]
        deps = set()
        for node in _top_level_imports(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                targets = [a.name for a in node.names]
            else:
                base = node.module or ""
                if node.level:
                    anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                    base = ".".join([*anchor, *([base] if base else [])])
                targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in files else base for a in node.names]
            for t in targets:
                # importing a.b.c runs a and a.b first
                parts = t.split(".")
                deps |= {".".join(parts[:i]) for i in range(1, len(parts) + 1)} & set(files)
        deps.discard(name)
        graph[name] = deps
    return graph


def find_cycle(graph):
    """A list of modules that import one another in a ring, or ``None``."""
    state, stack = {}, []

    def visit(m):
        state[m] = "open"
        stack.append(m)
        for d in sorted(graph.get(m, ())):
            if state.get(d) == "open":
                return stack[stack.index(d):] + [d]
            if d not in state and (found := visit(d)):
                return found
        stack.pop()
        state[m] = "done"
        return None

    for m in sorted(graph):
        if m not in state and (found := visit(m)):
            return found
    return None


def _ancestors_excluded(graph):
    """The graph without the edges from a package to its own submodules' parents: importing
    ``jaxnn.a.b`` runs ``jaxnn.a/__init__`` first, which is an order, not a cycle."""
    return {m: {d for d in deps if not m.startswith(d + ".")} for m, deps in graph.items()}


def test_the_checker_finds_a_cycle_and_an_import_from_the_cli(tmp_path):
    pkg = tmp_path / "jaxnn"
    (pkg / "cli").mkdir(parents=True)
    (pkg / "__init__.py").write_text("")
    (pkg / "cli" / "__init__.py").write_text("from jaxnn import a\n")
    (pkg / "a.py").write_text("def f():\n    import jaxnn.cli\n")  # inside a function: no edge
    (pkg / "b.py").write_text("from jaxnn import c\n")
    (pkg / "c.py").write_text("try:\n    from jaxnn.b import x\nexcept ImportError:\n    pass\n")
    (pkg / "d.py").write_text("from jaxnn.cli import main\n")
    graph = _ancestors_excluded(import_graph(pkg))
    assert graph["jaxnn.a"] == set()
    assert graph["jaxnn.cli"] == {"jaxnn.a"}  # its parent "jaxnn" runs first: an order, no cycle
    assert graph["jaxnn.d"] == {"jaxnn.cli"}
    assert find_cycle(graph) == ["jaxnn.b", "jaxnn.c", "jaxnn.b"]


def test_jaxnn_imports_form_no_cycle():
    graph = _ancestors_excluded(import_graph())
    assert "jaxnn._tabular._model_file" in graph and "jaxnn.cli._train" in graph  # the walk sees the package
    assert find_cycle(graph) is None


def test_only_the_command_line_imports_the_command_line():
    graph = import_graph()
    outside = {m: sorted(d for d in deps if d == "jaxnn.cli" or d.startswith("jaxnn.cli."))
               for m, deps in graph.items() if m != "jaxnn.cli" and not m.startswith("jaxnn.cli.")}
    assert {m: d for m, d in outside.items() if d} == {}


def test_the_playground_and_the_command_line_share_only_the_tables():
    graph = import_graph()
    playground_to_cli = {m: d for m, deps in graph.items() if m.startswith("jaxnn.playground")
                         for d in deps if d.startswith("jaxnn.cli")}
    cli_to_playground = {m: d for m, deps in graph.items() if m.startswith("jaxnn.cli")
                         for d in deps if d.startswith("jaxnn.playground")}
    assert playground_to_cli == {} and cli_to_playground == {}
    assert "jaxnn._tabular" in graph["jaxnn.playground._export"]


def test_package_inits_only_re_export():
    # Implementation lives in a module of its own; a package's __init__ says what it offers.
    # (jaxnn/__init__.py's module __getattr__ and __dir__ are its lazy re-export.)
    allowed = {("jaxnn", "__getattr__"), ("jaxnn", "__dir__")}
    found = []
    for path in ROOT.rglob("__init__.py"):
        package = _module_name(path, ROOT)
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and (package, node.name) not in allowed:
                found.append(f"{package}.{node.name}")
    assert found == []


def test_modules_rarely_reach_for_another_modules_underscore_names():
    # What two modules share lives in a module of its own under a plain name; importing
    # another module's _name is kept for the few cases where the name must stay private
    # (a base class that documentation tools would otherwise show as public API).
    found = []
    for path in ROOT.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.ImportFrom) and not node.level and (node.module or "").startswith("jaxnn"):
                base = ROOT.parent / node.module.replace(".", "/")
                for alias in node.names:
                    is_module = (base / f"{alias.name}.py").exists() or (base / alias.name).is_dir()
                    if alias.name.startswith("_") and not alias.name.startswith("__") and not is_module:
                        found.append(f"{path.relative_to(ROOT.parent)}: {node.module}.{alias.name}")
    assert len(found) <= 10, found
