"""The Strawberry GraphQL schema mounted in the Litestar app at /graphql."""
