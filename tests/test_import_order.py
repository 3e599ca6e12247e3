"""Each module of the old import cycle imports first in a fresh interpreter, as a script or a test may import it.

The cycle was worker.drafting -> worker.flows.recipients -> worker.flows, whose __init__ imported every workflow,
one of which (ar_aging_action_plan) imports worker.drafting; the app's import order hid it. The package now
imports nothing (worker/flows/registry.py lists the workflows), so which workflows are known may not depend on
which were imported either (worker/flows/names.py).

A second cycle, ar_aging_action_plan -> plan_redraw -> ar_aging_action_plan (for `draw`), was hidden by an import
inside the handler; `draw` is worker/flows/plan_draw.py now, which both import. So the flows import one another at
the top only, where a cycle fails the fresh-interpreter imports below instead of waiting for the first stale plan.
"""

from __future__ import annotations

import ast
import importlib
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

import worker.flows
from worker.flows.names import WORKFLOW_NAMES
from worker.flows.registry import WORKFLOWS

ROOT = Path(__file__).resolve().parent.parent
FLOWS = tuple(f"worker.flows.{m.name}" for m in pkgutil.iter_modules(worker.flows.__path__))
FIRST = ("worker.drafting", "worker.flows", *FLOWS, "worker.stale_plans", "cron.workflows")


def _fresh(code: str, *args: str) -> subprocess.Popen[str]:
    """A new interpreter running `code`, started now (the caller waits), so several run at once."""
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code, *args], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _outcome(done: subprocess.Popen[str]) -> tuple[str, str]:
    """What the interpreter printed, and the last line of its error ('' when it succeeded)."""
    out, err = done.communicate(timeout=60)
    return out.strip(), (err.strip().splitlines() or ["failed"])[-1] if done.returncode else ""


def test_each_module_of_the_cycle_and_every_flow_imports_first():
    assert {"worker.flows.ar_aging_action_plan", "worker.flows.plan_redraw", "worker.flows.plan_draw"} <= set(FLOWS)
    running = {module: _fresh(f"import {module}") for module in FIRST}  # about a second each, all at once
    failed = {module: why for module, done in running.items() if (why := _outcome(done)[1])}
    assert failed == {}


def test_the_flows_import_only_at_the_top():
    # An import inside a function is how a cycle hides from the test above.
    trees = {module: ast.parse((ROOT / f"{module.replace('.', '/')}.py").read_text()) for module in FLOWS}
    inner = [f"{module}:{node.lineno}" for module, tree in trees.items() for f in ast.walk(tree)
             if isinstance(f, ast.FunctionDef | ast.AsyncFunctionDef)
             for node in ast.walk(f) if isinstance(node, ast.Import | ast.ImportFrom)]
    assert inner == []


def test_a_workflows_close_is_known_whichever_flows_were_imported():
    # Only withdrawals imported, no workflow module: each workflow's withdrawal still counts as one.
    code = """if True:
        import sys
        from worker.flows.withdrawals import Draft
        print(*[n for n in sys.argv[1:] if not Draft(1, "k", "k", "rejected", False, n, "withdrawn: gone").withdrawn])
    """
    assert _outcome(_fresh(code, *(w.name for w in WORKFLOWS))) == ("", "")  # no name printed, no error


def test_the_registry_lists_every_workflow_by_its_name():
    modules = [importlib.import_module(f"worker.flows.{m.name}") for m in pkgutil.iter_modules(worker.flows.__path__)]
    defined = {m.WORKFLOW for m in modules if hasattr(m, "WORKFLOW")}
    assert set(WORKFLOWS) == defined and len(WORKFLOWS) == len(defined)
    assert {w.name for w in WORKFLOWS} == WORKFLOW_NAMES
