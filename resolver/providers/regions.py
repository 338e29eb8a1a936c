"""Where PassKit's REST API answers: an account lives in exactly one region."""

PASSKIT_REGIONS = {
    "eu": "https://api.pub1.passkit.io",
    "us": "https://api.pub2.passkit.io",
}
