"""HTTP resources and middleware: they know requests and responses, never SQL or Mongo."""
