"""Prints which e2e scenario passed in which language, from the result files
the language runners wrote, and exits non-zero unless every scenario passed
in every language.

    python3 summary.py SCENARIOS_JSON RESULTS_DIR LANGUAGE...
"""
import json
import sys
from pathlib import Path


def main() -> int:
    scenarios_path, results_dir, *languages = sys.argv[1:]
    scenarios = [s["id"] for s in json.loads(Path(scenarios_path).read_text())["scenarios"]]
    results = {}
    for language in languages:
        path = Path(results_dir) / f"{language}.json"
        results[language] = json.loads(path.read_text())["results"] if path.exists() else {}

    width = max(len(s) for s in scenarios)
    print()
    print(f"{'scenario':<{width}}  " + "  ".join(f"{lang:<7}" for lang in languages))
    passed = failed = 0
    failures = []
    for scenario in scenarios:
        cells = []
        for language in languages:
            outcome = results[language].get(scenario, "missing: no result reported")
            ok = outcome == "pass"
            passed += ok
            failed += not ok
            cells.append(f"{'pass' if ok else 'FAIL':<7}")
            if not ok:
                failures.append(f"  {language} / {scenario}: {outcome}")
        print(f"{scenario:<{width}}  " + "  ".join(cells))
    print()
    for line in failures:
        print(line)
    print(f"e2e: {passed} passed, {failed} failed")
    return 0 if failed == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
