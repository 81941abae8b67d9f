"""What hiding secrets costs per log line: ``headwater.masking.redact_text`` with 0, 10 and
1000 registered secrets.

Every line a task logs or prints goes through ``redact_text`` before it reaches the attempt's
log file, so its cost is paid once per line. The script registers N random secrets (20-40
characters, letters and digits, each with its URL-quoted and escaped forms as
``mask_secret`` registers them), then times ``redact_text`` on a typical 100-character log
line without any secret, and on the same line with one secret in it, and prints nanoseconds
per line (the best of ``--repeat`` rounds of ``--lines`` calls, after one call that compiles
the pattern, whose time is shown too). For reference it also times the plain alternation of
the secrets (``a|b|c...``), which the trie pattern replaces, and registering the secrets one
by one with a log line after each (the worst case for compiling: ``one by one``).

A benchmark, not a test: it checks only that the secret was hidden.

    .venv/bin/python benchmarks/masking.py
    .venv/bin/python benchmarks/masking.py --counts 0,10,1000,10000 --lines 20000
"""

from __future__ import annotations

import argparse
import random
import re
import string
import time

from headwater import masking

LINE = (
    "[2026-12-05T04:01:02.345Z] {INFO} Loaded 1234 rows from s3://bucket/raw/2026/12/05/"
    "part-0001.csv in 0.42 s"
)


def _secrets(count: int, rng: random.Random) -> list[str]:
    alphabet = string.ascii_letters + string.digits
    return ["".join(rng.choices(alphabet, k=rng.randint(20, 40))) for _ in range(count)]


def _best_ns(fn: object, text: str, lines: int, repeat: int) -> float:
    call = fn  # type: ignore[assignment]
    best = float("inf")
    for _ in range(repeat):
        started = time.perf_counter_ns()
        for _ in range(lines):
            call(text)  # type: ignore[operator]
        best = min(best, (time.perf_counter_ns() - started) / lines)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--counts", default="0,10,1000", help="numbers of secrets (comma list)")
    parser.add_argument("--lines", type=int, default=20_000, help="calls per round")
    parser.add_argument("--repeat", type=int, default=5, help="rounds; the best is shown")
    args = parser.parse_args()
    rng = random.Random(11)
    print(
        f"{'secrets':>8} {'forms':>7} {'compile':>10} {'no secret':>12} {'one secret':>12} "
        f"{'alternation':>12} {'one by one':>11}"
    )
    for count in (int(c) for c in args.counts.split(",")):
        masking.forget_secrets()
        secrets = _secrets(count, rng)
        for secret in secrets:
            masking.mask_secret(secret)
        started = time.perf_counter()
        masking.redact_text(LINE)  # compiles the pattern
        compile_ms = (time.perf_counter() - started) * 1000
        with_secret = LINE.replace("part-0001", secrets[0]) if secrets else LINE
        if secrets:
            assert secrets[0] not in masking.redact_text(with_secret)
        clean = _best_ns(masking.redact_text, LINE, args.lines, args.repeat)
        dirty = _best_ns(masking.redact_text, with_secret, args.lines, args.repeat)
        if secrets:
            plain = re.compile("|".join(re.escape(s) for s in masking._secrets))
            alternation = f"{_best_ns(plain.search, LINE, args.lines, args.repeat):,.0f}"
        else:
            alternation = "-"
        masking.forget_secrets()
        started = time.perf_counter()
        for secret in secrets:
            masking.mask_secret(secret)
            masking.redact_text(LINE)
        one_by_one = f"{time.perf_counter() - started:.2f}"
        print(
            f"{count:>8} {len(masking._secrets):>7} {compile_ms:>8.1f}ms {clean:>10,.0f}ns "
            f"{dirty:>10,.0f}ns {alternation:>10}ns {one_by_one:>10}s"
        )
    masking.forget_secrets()


if __name__ == "__main__":
    main()
