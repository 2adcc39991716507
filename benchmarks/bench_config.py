"""Configuration cross-check benchmark: a 2 MB Get-ExchangeCertificate | Format-List dump of 500
certificates on four servers (bot.core.diagnose.config.synthetic).

Run from the repository root:  python -m benchmarks.bench_config [--repeat 5]

Baseline: the generic Format-List reader alone (bot.core.diagnose.decode.records over the same
text, what any reader of this paste pays). Ours: the whole diagnosis (decode, every reader, the
cross-check, causes, playbooks). Alternating order, best of --repeat; prints both times and the
ratio. Target: the whole diagnosis in under 1 s. A measurement, not a test: always exits 0.
"""

from __future__ import annotations

import argparse
import time

from bot.core.diagnose.config.synthetic import dump
from bot.core.diagnose.decode import text_documents
from bot.core.diagnose.decode.records import records
from bot.diagnosis import diagnose_bytes


def _baseline(text: str) -> float:
    start = time.perf_counter()
    for document in text_documents(text):
        records(document)
    return time.perf_counter() - start


def _ours(data: bytes) -> float:
    start = time.perf_counter()
    diagnose_bytes(data, "certificates.txt")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    text = dump(500, 4)
    data = text.encode("utf-8")
    diagnose_bytes(b"warm-up", "x.txt")  # knowledge loaded once, as in a running bot
    base: list[float] = []
    ours: list[float] = []
    for round_ in range(args.repeat):
        order = (_baseline, _ours) if round_ % 2 == 0 else (_ours, _baseline)
        for run in order:
            (base if run is _baseline else ours).append(
                run(text) if run is _baseline else run(data)  # type: ignore[arg-type]
            )
    best_base, best_ours = min(base), min(ours)
    print(f"input: {len(data) / 1e6:.2f} MB, 500 certificates, 4 servers")
    print(f"baseline (Format-List records only): {best_base * 1000:.0f} ms")
    print(f"whole diagnosis with the cross-check: {best_ours * 1000:.0f} ms")
    print(f"ratio ours/baseline: {best_ours / best_base:.2f}  (target: under 1000 ms)")


if __name__ == "__main__":
    main()
