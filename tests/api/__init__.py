"""API, portal and access-tier tests (run against a live uvicorn server)."""
