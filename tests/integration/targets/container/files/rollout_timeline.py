# Copyright (c) polytope.core contributors
# GNU General Public License v3.0+ (see https://www.gnu.org/licenses/gpl-3.0.txt)
"""The timeline of a rollout, from the engine's container events and the module's readiness times.

Reads JSON on stdin: {"events": [docker events lines], "old": [ids of the replicas before], "new": {id:
ready_at}}. Prints JSON: the most new replicas that were started but not ready at one time, the fewest
replicas ready at one time (old ones that had not died, new ones ready and not dead), and the new replicas'
start times in order.
"""

from __future__ import annotations

import datetime
import json
import sys


def seconds(text: str) -> float:
    return datetime.datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp()


def main() -> int:
    data = json.load(sys.stdin)
    old = set(data["old"])
    ready = {container: seconds(at) for container, at in data["new"].items()}
    started: dict[str, float] = {}
    died: dict[str, float] = {}
    for event in data["events"]:
        container, action, when = event["id"], event["Action"], event["timeNano"] / 1e9
        if action == "start" and container in ready:
            started.setdefault(container, when)
        elif action == "die":
            died.setdefault(container, when)
    instants = sorted(set(started.values()) | set(died.values()) | set(ready.values()))

    def alive(container: str, at: float) -> bool:
        return died.get(container, float("inf")) > at

    most_new_not_ready = 0
    fewest_ready = len(old)
    for at in instants:
        new_not_ready = sum(1 for c in ready if started.get(c, float("inf")) <= at < ready[c])
        serving = sum(1 for c in old if alive(c, at)) + sum(1 for c in ready if ready[c] <= at and alive(c, at))
        most_new_not_ready = max(most_new_not_ready, new_not_ready)
        fewest_ready = min(fewest_ready, serving)
    print(
        json.dumps(
            {
                "most_new_not_ready": most_new_not_ready,
                "fewest_ready": fewest_ready,
                "new_started": len(started),
                "old_died": len([c for c in old if c in died]),
                "every_new_ready_after_its_start": all(started[c] <= ready[c] for c in started),
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
