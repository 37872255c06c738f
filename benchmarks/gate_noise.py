"""False alarms and detection of `llmobs checklist --baseline`, over many seeds.

Simulates an agent (root, `search`, `llm`; lognormal latencies, 5 % llm errors) measured twice
without change, and with `search` made 20 % and 40 % slower, for several request counts. Prints the
share of comparisons that flagged any regression when nothing changed (false alarms), that flagged
`search` when it slowed (detection), and that flagged a step that did not change.

    python benchmarks/gate_noise.py [--seeds 200]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

from analysis.test_compare import simulated

from llmobs.analysis.compare import compare
from llmobs.analysis.gates import BaselineSettings


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=200)
    args = parser.parse_args()
    settings = BaselineSettings()
    print(f"tolerance {settings.tolerance:.0%}, family-wise confidence {settings.confidence:.0%}, {args.seeds} seeds")
    print(f"{'requests':>9} {'false alarms':>13} {'detect +20%':>12} {'detect +40%':>12} {'other step flagged':>19}")
    for requests in (100, 400, 1000):
        false_alarms = wrong = 0
        detected = {1.2: 0, 1.4: 0}
        for seed in range(args.seeds):
            rng = np.random.default_rng(10_000 + seed)
            base, same = simulated(rng, requests), simulated(rng, requests)
            false_alarms += bool(compare(base, same, settings).regressions)
            for factor in detected:
                flagged = {(r.scope, r.name) for r in compare(base, simulated(rng, requests, search_factor=factor), settings).regressions}
                detected[factor] += ("step", "search") in flagged
                wrong += bool(flagged - {("step", "search"), ("requests", "requests")})
        n = args.seeds
        print(f"{requests:>9} {false_alarms / n:>13.1%} {detected[1.2] / n:>12.1%} {detected[1.4] / n:>12.1%} {wrong / (2 * n):>19.1%}")


if __name__ == "__main__":
    main()
