"""`resolver bench`: measures serve under load against the sandbox, on this machine.

    processes  the sandbox and serve as child processes (the e2e tests use it too)
    runner     one run: start everything, make coupons, measure, check
    load       what a generator is asked to do and what it measured
    wrk        wrk as the generator, driven to a count by a Lua script
    client     the Python generator, for machines without wrk
    cpu        CPU time per part: where the cores went
    report     the printed figures, and whether the run counts
    metrics_cost  the worker CPU metrics add to a redemption (`--metrics-cost`)

Speed is never asserted by tests; the run fails only on a broken promise or failed requests.
"""
