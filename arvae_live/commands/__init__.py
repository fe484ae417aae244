"""One module per `arvae-live` subcommand: parse, call a library function, print the result."""
