"""``python -m headwater``: the same as the ``headwater`` command."""

if __name__ == "__main__":  # worker processes may import this module again: do nothing then
    from headwater.cli import main

    main()
