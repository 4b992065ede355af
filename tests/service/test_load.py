"""A bounded load test over HTTP on 127.0.0.1: every answer right, none lost, under concurrency."""

from __future__ import annotations

import json
import threading
import urllib.request

from tests.service.conftest import request
from tests.service.server import running

REQUESTS = 120
CLIENTS = 6
PATIENTS = [
    {
        "age": 58,
        "sex": "female",
        "findings": {"unilateral_leg_swelling": True, "calf_tenderness": True},
    },
    {"age": 71, "labs": {"potassium": "2.9 mmol/L"}, "medications": ["furosemide 40 mg"]},
    {"age": 40, "cramps": {"nights_per_week": 2}},
]


def test_concurrent_patient_views_all_answer_their_own_patient():
    bodies = [json.dumps(request(p)).encode() for p in PATIENTS]
    with running() as base:
        expected = []
        for body in bodies:
            with urllib.request.urlopen(
                urllib.request.Request(
                    base + "/cds-services/cramp-consult", body, {"Content-Type": "application/json"}
                )
            ) as r:
                expected.append(sorted(c["summary"] for c in json.load(r)["cards"]))
        failures: list[str] = []
        lock = threading.Lock()

        def client(number: int) -> None:
            for i in range(REQUESTS // CLIENTS):
                which = (number + i) % len(bodies)
                req = urllib.request.Request(
                    base + "/cds-services/cramp-consult",
                    bodies[which],
                    {"Content-Type": "application/json"},
                )
                try:
                    with urllib.request.urlopen(req, timeout=30) as response:
                        got = sorted(c["summary"] for c in json.load(response)["cards"])
                except OSError as exc:
                    got = [f"error {exc}"]
                if got != expected[which]:
                    with lock:
                        failures.append(f"client {number} request {i}: {got[:2]}")

        threads = [threading.Thread(target=client, args=(n,)) for n in range(CLIENTS)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    assert failures == []
    assert expected[0] and expected[1]  # a red flag; a cause (the third patient may have none)
