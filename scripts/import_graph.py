"""Print dynaorm's import graph: every module and the dynaorm modules it imports, at module level
or inside functions (``if TYPE_CHECKING:`` blocks excluded), grouped by layer.

    python scripts/import_graph.py          # modules and their imports, lowest layer first
    python scripts/import_graph.py --layers # which layer imports which
    python scripts/import_graph.py --dot    # Graphviz source of the module graph

The graph is the one tests/test_layers.py checks (no upward import, no cycle); see
docs/architecture.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from test_layers import LAYERS, imports, layer, modules


def _layer_name(module: str) -> str:
    return LAYERS[layer(module)] if module else "dynaorm"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--layers", action="store_true", help="the graph between layers")
    parser.add_argument("--dot", action="store_true", help="Graphviz source")
    args = parser.parse_args()
    ordered = sorted(modules(), key=lambda m: (layer(m), m))
    if args.dot:
        print("digraph dynaorm {\n  rankdir=BT;")
        for module in ordered:
            for target in sorted(imports(module)):
                print(f'  "{module or "dynaorm"}" -> "{target or "dynaorm"}";')
        print("}")
        return
    if args.layers:
        edges: dict[str, set[str]] = {}
        for module in ordered:
            edges.setdefault(_layer_name(module), set()).update(
                _layer_name(t) for t in imports(module) if _layer_name(t) != _layer_name(module)
            )
        for name, targets in edges.items():
            print(f"{name:12} -> {', '.join(sorted(targets, key=LAYERS.index)) or '(nothing)'}")
        return
    for module in ordered:
        targets = ", ".join(sorted(t or "dynaorm" for t in imports(module))) or "(nothing)"
        print(f"[{_layer_name(module)}] {module or 'dynaorm'} -> {targets}")


if __name__ == "__main__":
    main()
