"""support - what the HTTP tests share, one implementation of each thing.

  config      constants of the run (paths, the JWT secret, the test admin)
  spec        the OpenAPI checker (load_spec), for requests and answers
  client      the checked HTTP client (ApiClient)
  raw         HTTP/1.1 over a plain socket, for requests `requests` cannot send
  checks      assertions: problems, error lists, descriptions of answers
  bodies      record bodies, creators (make_*) and the World of the access tests
  db          the database helper (Db: one psql session) and SQL expressions
  principals  users, API keys and JWTs
  cluster     throwaway PostgreSQL clusters and databases copied from a template
  server      the sharaka processes: `serve`, the command line, servers of a test's own
  feed        the change feed, a partner's mirror of it, and writer threads
"""
