"""The Litestar app: REST for uploads and jobs, Strawberry GraphQL at /graphql."""
