"""Kill rate per module from a mutmut run (mutants/**/*.meta), with the survivors listed by function, so
that each can be read and judged: a test is missing, or the mutant is equivalent (say why).

String-literal mutants ("XX…XX" around a message) are counted apart: they change what a person reads,
which the tests check where it matters (codes, key words) rather than letter by letter."""

from __future__ import annotations

import ast
import copy
import json
import re
import sys
from collections import Counter, defaultdict
from pathlib import Path

KILLED = {1, 3, 37}
NO_TESTS = {5, 33}


def text_only(module_file: Path) -> set[str]:
    """Mutant names whose only change is to a string literal (a message, a log line): compared with the
    original function after blanking every string constant."""

    def blank(fn: ast.AST) -> str:
        fn = copy.deepcopy(fn)
        for node in ast.walk(fn):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                node.value = ""
        assert isinstance(fn, ast.FunctionDef | ast.AsyncFunctionDef)
        fn.name = ""
        return ast.dump(fn)

    try:
        tree = ast.parse(module_file.read_text())
    except (OSError, SyntaxError):
        return set()
    functions = {n.name: n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)}
    originals = {name.removesuffix("__mutmut_orig"): blank(fn) for name, fn in functions.items()
                 if name.endswith("__mutmut_orig")}
    out = set()
    for name, fn in functions.items():
        base, sep, number = name.rpartition("__mutmut_")
        if sep and number.isdigit() and base in originals and blank(fn) == originals[base]:
            out.add(name)
    return out


def main() -> int:
    root = Path("mutants")
    metas = sorted(root.rglob("*.py.meta"))
    if not metas:
        print("没有变异结果：先运行 scripts/mutation.sh / no mutmut results: run scripts/mutation.sh", file=sys.stderr)
        return 1
    rows = []
    survivors: dict[str, Counter[str]] = defaultdict(Counter)
    for meta in metas:
        module = str(meta.relative_to(root)).removesuffix(".meta")
        codes = json.loads(meta.read_text())["exit_code_by_key"]
        if not codes:
            continue
        texts = text_only(root / module)
        killed = sum(1 for c in codes.values() if c in KILLED)
        untested = sum(1 for c in codes.values() if c in NO_TESTS)
        wording = sum(1 for k, c in codes.items() if c == 0 and k.rsplit(".", 1)[-1] in texts)
        logic = sum(1 for k, c in codes.items() if c == 0 and k.rsplit(".", 1)[-1] not in texts)
        for key, code in codes.items():
            if code == 0 and key.rsplit(".", 1)[-1] not in texts:
                survivors[module][re.sub(r"__mutmut_\d+$", "", key.rsplit(".", 1)[-1]).removeprefix("x")] += 1
        rows.append((module, len(codes), killed, logic, wording, untested))
    print(f"{'module':40} {'mutants':>7} {'killed':>7} {'survived':>8} {'wording':>7} {'no test':>7} {'kill rate':>9}")
    total: Counter[str] = Counter()
    for module, count, killed, logic, wording, untested in rows:
        rate = killed / (killed + logic) if killed + logic else 0.0
        total.update({"count": count, "killed": killed, "logic": logic, "wording": wording, "untested": untested})
        print(f"{module:40} {count:7} {killed:7} {logic:8} {wording:7} {untested:7} {rate:9.1%}")
    rate = total["killed"] / (total["killed"] + total["logic"]) if total["killed"] + total["logic"] else 0.0
    print(f"{'all':40} {total['count']:7} {total['killed']:7} {total['logic']:8} {total['wording']:7} "
          f"{total['untested']:7} {rate:9.1%}")
    print("kill rate = killed / (killed + survived), wording-only survivors (messages) and untested apart")
    print("\nsurvivors by function (read them with: .venv/bin/mutmut show NAME):")
    for module, functions in survivors.items():
        print(f"  {module}: " + ", ".join(f"{f} ×{n}" for f, n in functions.most_common()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
