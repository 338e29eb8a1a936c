"""Staff-verified redemption: who may confirm a redemption at the counter, and how.

- `directory`: the staff file (stores, their employees and code secrets, per-campaign policies),
  loaded and validated once at start-up;
- `credentials`: employee PINs as argon2id hashes, and each store's rotating TOTP code;
- `lockout`: wrong codes counted in Redis per coupon link and per client, across replicas;
- `verification`: the check a redemption passes before it may claim its coupon;
- `commands` and `editing`: the `resolver staff …` commands, which write the file.
"""
