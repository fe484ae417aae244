"""One module per `arvae-train` subcommand."""
