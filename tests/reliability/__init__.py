"""Reliability suite (issue #9): bad inputs, fuzzing, faults and security, against real servers.

    test_bad_inputs.py    30 kinds of broken/hostile/odd masters (corpus.py) → 4xx or `failed`
                          with a readable reason, or `ready`; a good asset keeps playing; no
                          temp files left; malicious filenames stay display text
    test_fuzz.py          hypothesis over targets.py + a short atheris run (long: bench/fuzz.py)
    test_fuzz_findings.py / test_api_findings.py   what the fuzzers found, one test per fix
    test_api_fuzz.py      schemathesis from /openapi.json: no 5xx
    test_faults.py        kill -9 mid-upload, disk full mid-transcode, SQLite locked
    test_security.py      traversal in every path parameter, header injection, oversized
                          headers, cookie replay after expiry, CORS, admin routes without a
                          token, secrets absent from the logs of a full run
    test_store_partial.py temp objects of interrupted writes are reclaimed

Elsewhere: kill -9 mid-transcode (tests/e2e/test_recovery.py), origin killed behind edges
(tests/e2e/test_edge.py), PostgreSQL outage (tests/e2e/test_scaleout.py).
"""
