"""Registry writes: cameras, imports and searches. Each one audits itself."""
