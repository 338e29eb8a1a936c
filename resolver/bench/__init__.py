"""`resolver bench`: the load benchmark, and the child processes it (and the e2e tests) run."""
