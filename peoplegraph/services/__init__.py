"""Services hold the product's logic; the CLI, the ARQ workers and the API are thin callers."""
