"""``python -m data_interaction_client``: the command line (see `data_interaction_client.cli`)."""

from data_interaction_client.cli import main

if __name__ == "__main__":  # pragma: no cover - run as a program
    raise SystemExit(main())
