"""The service's vocabulary and its rules, with no I/O: links and the id rule (`coupons`,
`ids`), outcomes and results (`redemptions`, `results`), the error tree (`errors`), keyed
names (`names`), signed links (`signing`) and shared access tokens (`tokens`).

Everything else in the service imports from here; this package imports nothing of the rest.
"""
