"""``citylab`` subcommands; each module has ``register(subparsers)``."""
