"""Peak memory while iterating a large query, measured in a fresh process.

Run as ``python -m bench.memory ENDPOINT STREAM``: prints one JSON object with the peak
resident set size (VmHWM) before and after iterating every item of the partition.
"""

from __future__ import annotations

import json
import sys


def _peak_kb() -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    import resource

    return int(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)


def main(endpoint: str, stream: str) -> dict[str, float]:
    import dynaorm
    from bench.events import Event

    dynaorm.configure(
        endpoint_url=endpoint, region="us-east-1", aws_access_key_id="x", aws_secret_access_key="x"
    )
    # One page first, so the client, its connection and the imports are in the baseline.
    Event.query(stream=stream).limit(10).page()
    before = _peak_kb()
    count = 0
    for _ in Event.query(stream=stream):
        count += 1
    after = _peak_kb()
    return {"items": count, "peak_before_mb": before / 1024, "peak_after_mb": after / 1024}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2])))
