#!/usr/bin/env python3
"""Helm without the helm binary, through PyPI's helm-python-sdk (Helm's own Go library):

  scripts/helm.py template CHART [--namespace NS] [--name NAME] [--values-json JSON]
  scripts/helm.py lint CHART [--values-json JSON]

`template` prints the rendered manifests as one YAML stream (CRDs from crds/ first, as
`helm template --include-crds`); `lint` prints Helm's lint report as JSON and exits 1 when it
has errors. scripts/setup.sh installs the module.
"""
import argparse
import json
import sys

import helm_python as helm


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("command", choices=["template", "lint"])
    p.add_argument("chart")
    p.add_argument("--namespace", default="prescale")
    p.add_argument("--name", default="prescale")
    p.add_argument("--values-json", default="{}")
    a = p.parse_args()
    values = json.loads(a.values_json)
    if a.command == "lint":
        report = helm.lint(a.chart, values, strict=True, namespace=a.namespace)
        print(json.dumps(report, indent=2))
        errors = report.get("errors") or []
        return 1 if errors or any(m.get("severity", 0) >= 2 for m in report.get("messages") or []) else 0
    chart = helm.Chart.load(a.chart)
    out = []
    for crd in sorted(chart.crds, key=lambda c: c["name"]):
        out.append(crd["data"])
    rendered = chart.render(values, name=a.name, namespace=a.namespace, is_install=True)
    for path in sorted(rendered):
        if path.endswith(".tpl") or path.endswith("NOTES.txt"):
            continue
        out.append(f"# Source: {path}\n{rendered[path]}")
    for doc in out:
        sys.stdout.write("---\n" + doc.strip("\n") + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
